"""metasift stage package: eval."""
