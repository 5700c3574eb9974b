"""The package version, in one place (read by zoo/__init__.py, the run card and the packaging metadata)."""

__version__ = "0.1.0"
