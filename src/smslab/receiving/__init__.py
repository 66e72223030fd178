"""Receiving: provider parsers, the landing-zone journal and the loader into DuckDB."""
