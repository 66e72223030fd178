"""Receiving: provider parsers, the format registry, the landing-zone journal and the loaders into DuckDB."""
