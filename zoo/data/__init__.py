"""Data in: folders, CSV files, DataFrames, TFDS, tf.data and NumPy arrays as checked, decoded `LabelledData`.

Every image file is decoded (through zoo.data.decoding.images, like prediction) before anything trains: unreadable
files are skipped and listed, and data that cannot train raises one clear BadData. Importing this does not import
TensorFlow.
Low layer: imports only the leaves (errors) and the standard library, NumPy and Pillow; never loading or above.
"""

from __future__ import annotations

from zoo.data.doctor import DoctorReport, diagnose
from zoo.data.labelled import LabelledData, Skipped, printable, write_skipped_csv
from zoo.data.sources import load_data
from zoo.data.split import class_weights, stratified_split

__all__ = [
    "DoctorReport",
    "LabelledData",
    "Skipped",
    "class_weights",
    "diagnose",
    "load_data",
    "printable",
    "stratified_split",
    "write_skipped_csv",
]
