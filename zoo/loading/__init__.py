"""Name -> keras.Model: builds a catalogue entry, loads its pretrained weights, adds heads, reloads saved models.

Middle layer: imports the leaves, recipes, layers, weights, data and hardware; never training, results or cli
(except the ZooModel.finetune/lr_find one-line delegates).
"""
