"""How well the input pipeline feeds the device: the share of each training step spent waiting for its batch.

Keras (TensorFlow backend) takes the next batch inside the compiled train function, so the time between two
batches' callbacks does not see the input wait. Instead the training dataset gets one last, synchronous stage
that notes the moment each batch leaves the pipeline (after its prefetch buffer): a step's wait is that moment
minus the step's start (on_train_batch_begin); its length runs to on_train_batch_end. The share is the summed
waits over the summed steps of a fit, the first step left out (it traces the function, which is not waiting).
The replicated loop takes each batch itself, so there the wait is simply the time its next() took (`fetched`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import keras

if TYPE_CHECKING:
    import tensorflow as tf


class InputWait(keras.callbacks.Callback):
    """Measures the input-wait share of a fit whose training data went through `stamped`."""

    def __init__(self) -> None:
        super().__init__()
        self.waited = self.stepped = 0.0
        self._begin: float | None = None
        self._arrival: float | None = None
        self._first = True

    def stamped(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """`dataset` with a last stage noting when each batch is handed over (TensorFlow may not prefetch past it)."""
        import tensorflow as tf

        def arrived() -> float:
            self._arrival = time.perf_counter()
            return 0.0

        def stamp(*batch: Any) -> Any:
            tick = tf.py_function(arrived, [], tf.float64)
            with tf.control_dependencies([tick]):
                handed = tf.nest.map_structure(tf.identity, batch)
            return handed if len(handed) > 1 else handed[0]

        options = tf.data.Options()
        options.experimental_optimization.inject_prefetch = False  # a prefetch after the stamp would hide the wait
        return dataset.map(stamp).with_options(options)

    def fetched(self, asked: float, arrived: float) -> None:
        """For a loop that takes each batch itself (zoo.hardware.replicated_loop): the step began when it asked for
        the batch and the batch arrived at `arrived` (call after on_train_batch_begin)."""
        self._begin, self._arrival = asked, arrived

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._first = True

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._begin, self._arrival = time.perf_counter(), None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        ended = time.perf_counter()
        if self._first or self._begin is None or self._arrival is None:
            self._first = False  # the first step traces the train function: not input wait
            return
        self.waited += max(0.0, self._arrival - self._begin)
        self.stepped += ended - self._begin

    def share(self) -> float | None:
        """Waiting for input over training-step time (0 to 1), or None when no step was measured."""
        return round(self.waited / self.stepped, 4) if self.stepped > 0 else None
