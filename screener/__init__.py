"""metasift stage package: screener."""
