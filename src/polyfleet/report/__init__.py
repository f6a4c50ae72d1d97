"""Faces for results: terminal tables, JSON and CSV output, HTML reports."""
