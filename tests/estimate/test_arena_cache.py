"""The exact arena search runs once per graph structure: the same architecture with other weights
has the same structure and the same smallest arena; another shape does not share it."""

from __future__ import annotations

import numpy as np
import pytest


def _int8(seed: int, units: int = 8) -> bytes:
    import keras

    from tuner.quantize import to_int8

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(units),
            keras.layers.Softmax(),
        ]
    )
    x = np.random.default_rng(seed).normal(size=(16, 16, 16, 1)).astype("float32")
    return to_int8(model, x, n_samples=8)


def test_same_structure_other_weights_shares_the_exact_arena(monkeypatch: pytest.MonkeyPatch) -> None:
    import tuner.estimate._estimate as est
    import tuner.estimate._tflm as tflm
    from tuner.estimate import estimate_tflite, smallest_arena
    from tuner.estimate._graph import parse

    a, b, c = _int8(0), _int8(1), _int8(0, units=12)
    assert a != b  # other weights
    assert est.structure(parse(a)) == est.structure(parse(b)) != est.structure(parse(c))
    assert smallest_arena(a) == smallest_arena(b)  # what the cache relies on

    monkeypatch.setattr(est, "_EXACT_ARENAS", {})
    calls = []
    real = tflm.smallest_arena
    monkeypatch.setattr(tflm, "smallest_arena", lambda buf, guess=0: calls.append(buf) or real(buf, guess))
    arenas = [estimate_tflite(m, "nano33ble", exact=True).arena_bytes for m in (a, b, c)]
    assert calls == [a, c]  # b reused a's search
    assert arenas[0] == arenas[1] == smallest_arena(b) and arenas[2] == smallest_arena(c)
