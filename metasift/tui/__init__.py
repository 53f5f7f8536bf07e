"""Textual apps for human review: ``review_app`` (screening) and ``conflict_app`` (consensus)."""
