"""Pixels: decoding image files (one rule for every mode and size), scanning them with a skip list, the on-disk store
of decoded images and its row copies, and near-duplicate hashes.

Imports only the leaves (errors) and zoo.data's own top modules (labelled, progress); never loading or above.
"""
