"""How good a trained model is, and what it decides: single- and multi-label evaluation, the thresholds a
multi-label model keeps, and the plots of a run. May import zoo.data, zoo.loading and the leaves; never training,
kaggle, bench or cli."""
