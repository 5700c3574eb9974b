"""The one-cycle schedule: its shape (up, peak, down) and its round trip through Keras serialisation."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo.training.discriminative_lr import OneCycle


def test_one_cycle_has_fastais_defaults_up_from_a_25th_to_the_peak_then_down_to_a_hundred_thousandth():
    schedule = OneCycle(0.01, total_steps=100)  # fastai's fit_one_cycle: div=25, div_final=1e5, pct_start=0.25
    rates = np.array([float(schedule(step)) for step in range(101)])
    assert rates[0] == pytest.approx(0.01 / 25) and rates[25] == pytest.approx(0.01)
    assert rates[100] == pytest.approx(0.01 / 1e5, rel=1e-2)
    assert (np.diff(rates[:26]) > 0).all() and (np.diff(rates[25:]) < 0).all()


def test_one_cycle_serialises():
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(OneCycle(0.1, 40, 0.3)))
    assert isinstance(again, OneCycle) and again.get_config() == OneCycle(0.1, 40, 0.3).get_config()
