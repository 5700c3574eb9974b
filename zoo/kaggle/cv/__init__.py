"""Cross-validation: every fold's model trained, out-of-fold predictions, the CV score, calibration, suspect labels.

Imports zoo.kaggle.task, zoo.training and below; never zoo.kaggle.submit.
"""
