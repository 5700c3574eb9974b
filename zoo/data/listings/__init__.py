"""What a source lists before anything is decoded: the files of class folders, the rows of a CSV or DataFrame, and
one rule for turning labels into classes.

Imports only the leaves (errors) and zoo.data's own top modules (labelled, checks); never zoo.data.decoding or above.
"""
