"""What a run leaves behind: the evaluation report, plots, exports, the run card and the output folder.

Upper layer (beside training): imports loading and everything below; never training, kaggle, bench or cli.
"""
