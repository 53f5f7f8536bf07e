"""metasift stage package: extractor."""
