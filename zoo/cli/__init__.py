"""The `zoo` command: argument parsing, one module per sub-command, errors turned into one line.

The top layer: may import anything in zoo; nothing imports it (except `zoo.__main__`).
"""
