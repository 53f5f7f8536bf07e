"""metasift stage package: prompts."""
