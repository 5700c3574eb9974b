"""Keras `fit`'s job for several replicas or machines: a training loop of `strategy.run` steps with the same
callbacks, logs and history, used by finetune whenever a run has more than one replica.

Why not `fit`: under MultiWorkerMirroredStrategy Keras 3's `fit` fails ("Attempt to convert a value (PerReplica...)",
keras-team/keras#20585, seen with TF 2.21 / Keras 3.15). Under MirroredStrategy it runs, but each replica keeps its
own BatchNorm moving statistics (their variables have no aggregation) and only the first replica's are kept. Here
every step all-reduces the gradients (in the optimizer), averages the moving statistics of BatchNorm layers that
train over the replicas (weighted by their rows), and every phase starts from the first replica's weights, so all
replicas and workers hold one model. The loss is averaged over the global batch's rows, as `fit` averages a batch.
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import tensorflow as tf

from zoo.hardware.feeding import InputWait
from zoo.layers.traversal import all_layers, is_batchnorm

SUM = tf.distribute.ReduceOp.SUM


def replicated_fit(
    trainer: keras.Model,
    strategy: tf.distribute.Strategy,
    data: tuple[tf.data.Dataset, tf.data.Dataset],
    *,
    epochs: int,
    initial_epoch: int = 0,
    callbacks: list[keras.callbacks.Callback] = (),
) -> dict[str, list[float]]:
    """Train the compiled `trainer` under `strategy` on `data`, (training, validation) pipelines of
    (x, targets[, weights]) batches; returns the history."""
    steps = ReplicatedSteps(trainer, strategy)
    train, val = (strategy.experimental_distribute_dataset(shardable(part)) for part in data)
    hooks = keras.callbacks.CallbackList(list(callbacks), model=trainer)
    trainer.stop_training = False
    steps.broadcast()
    history: dict[str, list[float]] = {}
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        logs = steps.train_epoch(train, hooks)
        logs.update({f"val_{key}": value for key, value in steps.evaluate(val).items()})
        hooks.on_epoch_end(epoch, logs)
        for key, value in logs.items():
            history.setdefault(key, []).append(float(value))
        if trainer.stop_training:
            break
    hooks.on_train_end()
    return history


def shardable(data: tf.data.Dataset) -> tf.data.Dataset:
    """Workers split a generator-fed pipeline by element (it has no files to split by)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)


class ReplicatedSteps:
    """The compiled per-step functions of one trainer under one strategy."""

    def __init__(self, trainer: keras.Model, strategy: tf.distribute.Strategy) -> None:
        self.trainer, self.strategy = trainer, strategy
        self.loss = trainer.loss  # a keras Loss: `call` gives one value per example
        self.optimizer = trainer.optimizer
        if not self.optimizer.built:  # its variables must exist before the step is traced
            with strategy.scope():
                self.optimizer.build(trainer.trainable_variables)
        self.moving = [
            variable
            for layer in all_layers(trainer)
            if is_batchnorm(layer) and layer.trainable
            for variable in layer.non_trainable_variables
        ]
        self.float_weights = [w for w in trainer.weights if w.dtype in ("float16", "bfloat16", "float32", "float64")]
        self.unscaled_check = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        self._train = tf.function(self._train_step, reduce_retracing=True)
        self._eval = tf.function(self._eval_step, reduce_retracing=True)

    def broadcast(self) -> None:
        """Every replica takes the first replica's weights (on several machines, worker 0's)."""

        def copy_first() -> None:
            context = tf.distribute.get_replica_context()
            first = tf.cast(tf.equal(context.replica_id_in_sync_group, 0), tf.float32)
            values = context.all_reduce(SUM, [w.value * tf.cast(first, w.dtype) for w in self.float_weights])
            for weight, value in zip(self.float_weights, values, strict=True):
                weight.assign(value)

        if self.float_weights:
            tf.function(lambda: self.strategy.run(copy_first))()

    def train_epoch(self, dataset: Any, hooks: keras.callbacks.CallbackList) -> dict[str, float]:
        """One pass over the distributed dataset; per-batch logs carry the running mean loss and accuracy."""
        totals = [0.0, 0.0, 0.0]  # summed loss, rows, correct
        probes = [hook for hook in hooks.callbacks if isinstance(hook, InputWait)]
        batches, step = iter(dataset), 0
        while True:
            asked = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            hooks.on_train_batch_begin(step)
            for probe in probes:  # this loop takes each batch itself: its wait is the time next() took
                probe.fetched(asked, time.perf_counter())
            results = self._train(batch)
            totals = [total + float(value) for total, value in zip(totals, results, strict=True)]
            logs = mean_logs(totals)
            hooks.on_train_batch_end(step, logs)
            if self.trainer.stop_training or not math.isfinite(logs["loss"]):
                break
            step += 1
        return mean_logs(totals)

    def evaluate(self, dataset: Any) -> dict[str, float]:
        totals = [0.0, 0.0, 0.0]
        for batch in dataset:
            totals = [total + float(value) for total, value in zip(totals, self._eval(batch), strict=True)]
        return mean_logs(totals)

    def _train_step(self, batch: Any) -> list[tf.Tensor]:
        per_replica = self.strategy.run(self._replica_train, args=tuple(batch))
        return [self.strategy.reduce(SUM, value, axis=None) for value in per_replica]

    def _eval_step(self, batch: Any) -> list[tf.Tensor]:
        per_replica = self.strategy.run(self._replica_eval, args=tuple(batch[:2]))
        return [self.strategy.reduce(SUM, value, axis=None) for value in per_replica]

    def _replica_train(self, x: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor | None = None) -> list[tf.Tensor]:
        context = tf.distribute.get_replica_context()
        rows = tf.cast(tf.shape(targets)[0], tf.float32)
        global_rows = tf.maximum(context.all_reduce(SUM, rows), 1.0)
        variables = self.trainer.trainable_variables
        with tf.GradientTape() as tape:
            predictions = self.trainer(x, training=True)
            per_example = self.loss.call(targets, tf.cast(predictions, tf.float32))
            if weights is not None:
                per_example = per_example * tf.cast(weights, per_example.dtype)
            regularisation = tf.add_n([tf.cast(v, tf.float32) for v in self.trainer.losses] or [tf.zeros(())])
            # Summed over this replica, divided by the global rows: the replicas' gradients then add up to the mean's.
            loss = tf.reduce_sum(per_example) / global_rows + regularisation / context.num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss)
        # A replica handed no rows (the end of an epoch, split over the replicas) gets NaN batch statistics; it adds
        # nothing to the step, so its gradients are zeros whatever they came out as.
        gradients = [zero_unless(rows > 0, gradient) for gradient in tape.gradient(scaled, variables)]
        if self.unscaled_check:
            gradients = self._same_finiteness(context, gradients)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        self._average_moving(context, rows)
        return [tf.reduce_sum(per_example) + regularisation * rows, rows, correct(targets, predictions)]

    def _replica_eval(self, x: tf.Tensor, targets: tf.Tensor) -> list[tf.Tensor]:
        predictions = self.trainer(x, training=False)
        per_example = self.loss.call(targets, tf.cast(predictions, tf.float32))
        rows = tf.cast(tf.shape(targets)[0], tf.float32)
        regularisation = tf.add_n([tf.cast(v, tf.float32) for v in self.trainer.losses] or [tf.zeros(())])
        return [tf.reduce_sum(per_example) + regularisation * rows, rows, correct(targets, predictions)]

    def _average_moving(self, context: Any, rows: tf.Tensor) -> None:
        """BatchNorm moving statistics: each replica's, weighted by its rows (a replica without rows counts 0)."""
        if not self.moving:
            return
        total = tf.maximum(context.all_reduce(SUM, rows), 1.0)
        weighted = [tf.where(rows > 0, v.value * tf.cast(rows, v.dtype), tf.zeros_like(v.value)) for v in self.moving]
        for variable, value in zip(self.moving, context.all_reduce(SUM, weighted), strict=True):
            variable.assign(value / tf.cast(total, variable.dtype))

    @staticmethod
    def _same_finiteness(context: Any, gradients: list[Any]) -> list[Any]:
        """Loss scaling skips a step whose gradients overflow; it decides on each worker's own gradients, so an
        overflow anywhere is made an overflow everywhere and every worker skips (none waits on the others)."""
        present = [g for g in gradients if g is not None]
        local = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in present])
        bad = context.all_reduce(SUM, 1.0 - tf.cast(local, tf.float32))
        poison = tf.where(bad > 0, float("nan"), 0.0)
        return [None if g is None else g + tf.cast(poison, g.dtype) for g in gradients]


def zero_unless(keep: tf.Tensor, gradient: Any) -> Any:
    """`gradient` where `keep` holds, zeros (of its shape) where it does not."""
    if gradient is None:
        return None
    if isinstance(gradient, tf.IndexedSlices):  # embeddings: only the looked-up rows
        values = tf.where(keep, gradient.values, tf.zeros_like(gradient.values))
        return tf.IndexedSlices(values, gradient.indices, gradient.dense_shape)
    return tf.where(keep, gradient, tf.zeros_like(gradient))


def correct(targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
    """How many rows' most probable class is the target's (one-hot targets)."""
    same = tf.equal(tf.argmax(predictions, axis=-1), tf.argmax(targets, axis=-1))
    return tf.reduce_sum(tf.cast(same, tf.float32))


def mean_logs(totals: list[float]) -> dict[str, float]:
    loss, rows, right = totals
    rows = max(rows, 1.0)
    return {"accuracy": right / rows, "loss": loss / rows}
