"""Custom Keras layers of the catalogue, registered under the "zoo" package so saved models reload with safe_mode on.

Importing this package registers them all; `zoo.load` and `zoo.load_saved` do it for you. Also `traversal`: walking
nested layers. Low layer: imports only Keras and the leaves (errors), never another zoo folder.
"""

from zoo.layers import preprocess, rbm, tokens, vae

__all__ = ["preprocess", "rbm", "tokens", "vae"]
