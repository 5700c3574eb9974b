"""Weights files: the manifest, where a file is found (explicit path, folder, cache, package, download), hashes.

Low layer: imports only the leaves (errors) and the standard library; the only readers of the manifest and the cache.
"""
