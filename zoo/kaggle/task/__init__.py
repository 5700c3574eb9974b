"""A competition as zoo reads it: the run's settings, the table, the target and its metric, inputs, the folds.

Lowest part of zoo.kaggle: imports zoo.data, zoo.loading and the leaves; never zoo.kaggle.cv or zoo.kaggle.submit.
"""
