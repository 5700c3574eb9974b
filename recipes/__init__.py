"""The catalogue's recipes: one module per family, each with builders and one ENTRIES table."""
