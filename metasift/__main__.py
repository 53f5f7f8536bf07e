"""``python -m metasift`` runs the CLI."""

from metasift.cli import main

main()
