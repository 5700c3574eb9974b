"""Where training runs: device discovery, precision policy, multi-worker clusters, the replicated training loop.

Low layer: imports only the leaves (errors, entry) and zoo.layers; never loading, training, results or cli.
"""
