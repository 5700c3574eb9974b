"""Predictions for the test set: fold-averaged, test-time augmented, blended across runs, in the template's format.

Top of zoo.kaggle: imports zoo.kaggle.task and zoo.kaggle.cv.
"""
