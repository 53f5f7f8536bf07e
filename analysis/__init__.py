"""metasift stage package: analysis."""
