"""Custom Keras layers of the catalogue, registered under the "zoo" package so saved models reload with safe_mode on."""
