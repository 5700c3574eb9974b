"""Fine-tuning: the run (finetune), its plan and phases, freezing, caches, faults, checkpoints, lr-find, RBMs.

Upper layer: imports loading and everything below it, and zoo.results; never kaggle, bench or cli.
"""
