"""`python -m zoo.bench recipes`: one module per recipe family, each training its recipes on real bundled data."""
