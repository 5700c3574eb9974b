"""Benchmarks that train catalogue entries on real, package-bundled data and print measured results."""
