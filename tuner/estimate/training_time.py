"""Training-time estimate from throughput measured on this machine.

Model: seconds per epoch = overhead_s + steps * step_s
    + samples * ((macs - dw_macs) * mac_s + dw_macs * dw_mac_s + bn_elems * bn_elem_s),
where `macs` are the forward multiply-accumulates of one sample (training costs about 3x forward),
`dw_macs` the part in depthwise convolutions and `bn_elems` the activation elements that go through
BatchNormalization. Measured on a 2-core x86 host: a depthwise MAC costs ~6x a conv MAC in training
and a BatchNorm element ~100x, so with MACs alone a MobileNet's training was underestimated 10x.
The coefficients come from a short measurement on this host (`measure_host`, a few seconds, cached
per sweep); mac_s, step_s and overhead_s are refitted on the real training times of finished trials.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class HostThroughput:
    overhead_s: float  # per epoch: validation pass setup, callbacks
    step_s: float  # per optimizer step, independent of model size
    mac_s: float  # per forward dense MAC per training sample (includes backward)
    source: str = "measured"
    dw_mac_s: float | None = None  # per depthwise-conv MAC; None: same as mac_s
    bn_elem_s: float = 0.0  # per activation element through BatchNormalization

    def per_sample_seconds(self, macs: int, dw_macs: int = 0, bn_elems: int = 0) -> float:
        dw = self.mac_s if self.dw_mac_s is None else self.dw_mac_s
        return (macs - dw_macs) * self.mac_s + dw_macs * dw + bn_elems * self.bn_elem_s

    def epoch_seconds(self, macs: int, samples: int, batch_size: int, dw_macs: int = 0, bn_elems: int = 0) -> float:
        steps = -(-samples // batch_size)
        return self.overhead_s + steps * self.step_s + samples * self.per_sample_seconds(macs, dw_macs, bn_elems)

    def estimate_seconds(
        self, macs: int, samples: int, batch_size: int, epochs: int, dw_macs: int = 0, bn_elems: int = 0
    ) -> float:
        """Upper estimate: all `epochs` run (early stopping may end sooner), plus ~1 s to compile."""
        return 1.0 + epochs * self.epoch_seconds(macs, samples, batch_size, dw_macs, bn_elems)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> HostThroughput:
        return cls(**json.loads(path.read_text()))


def fit(rows: list[tuple], prior: HostThroughput) -> HostThroughput:
    """Refit on finished trials: rows of (macs, samples, batch_size, epochs_run, train_seconds
    [, dw_macs, bn_elems]). Non-negative least squares on per-epoch time for overhead, step and
    MAC cost; the measured depthwise and BatchNorm costs are kept. Keeps the prior until 4 trials.
    """
    if len(rows) < 4:
        return prior
    from scipy.optimize import nnls

    dw = prior.mac_s if prior.dw_mac_s is None else prior.dw_mac_s
    a, t = [], []
    for r in rows:
        m, s, b, e, sec = r[:5]
        dw_macs, bn = (r[5], r[6]) if len(r) > 6 else (0, 0)
        fixed = s * (dw_macs * dw + bn * prior.bn_elem_s)
        a.append([1.0, -(-s // b), s * (m - dw_macs)])
        t.append(sec / max(e, 1) - fixed)
    a, t = np.array(a), np.array(t)
    scale = a.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(a / scale, t)
    coef = coef / scale
    if not np.all(np.isfinite(coef)):
        return prior
    return HostThroughput(
        float(coef[0]), float(coef[1]), float(coef[2]), f"refit on {len(rows)} trials", prior.dw_mac_s, prior.bn_elem_s
    )


def measure_host(input_dim: int = 64, samples: int = 2048, batch_size: int = 32) -> HostThroughput:
    """Time one epoch of a small and a large dense model, then of a depthwise conv and of a
    BatchNorm on a 16x16x16 input, on random data (about 6-10 s)."""
    import keras
    from scipy.optimize import nnls

    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, input_dim)).astype(np.float32)
    y = rng.integers(0, 4, samples)

    def timed(model: Any, xs: np.ndarray, n: int) -> float:
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(xs[:batch_size], y[:batch_size], epochs=1, verbose=0)  # build + trace
        start = time.perf_counter()
        model.fit(xs[:n], y[:n], epochs=1, batch_size=batch_size, verbose=0)
        return time.perf_counter() - start

    points = []
    for width in (8, 512):
        for n in (samples // 4, samples):
            m = keras.Sequential([keras.Input((input_dim,)), keras.layers.Dense(width, "relu"), keras.layers.Dense(4)])
            points.append((input_dim * width + width * 4, n, timed(m, x, n)))
    a = np.array([[1.0, -(-n // batch_size), n * macs] for macs, n, _ in points])
    t = np.array([s for *_, s in points])
    scale = a.max(axis=0)
    coef, _ = nnls(a / scale, t)
    overhead, step, mac = coef / scale
    step = max(float(step), 1e-5)
    # depthwise and BatchNorm costs, each against the same model without that layer
    img = rng.standard_normal((samples, 16, 16, 16)).astype(np.float32)

    def head(*layers: Any) -> Any:
        return keras.Sequential(
            [keras.Input((16, 16, 16)), *layers, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)]
        )

    base = timed(head(), img, samples)
    dw = timed(head(keras.layers.DepthwiseConv2D(3, padding="same")), img, samples) - base
    bn = timed(head(keras.layers.BatchNormalization()), img, samples) - base
    dw_mac = max(dw / (samples * 16 * 16 * 9 * 16), float(mac))
    bn_elem = max(bn / (samples * 16 * 16 * 16), 0.0)
    return HostThroughput(float(overhead), step, float(mac), "measured on this host", dw_mac, bn_elem)


def format_duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m}m {s}s" if h else f"{m}m {s}s"


def refreshed_host(folder: Path, rows: list[tuple[int, int, int, int, float]]) -> HostThroughput:
    """This host's throughput for a sweep: measured once per results folder (under a file lock, so
    parallel workers measure once), then refitted (`fit`) on rows of finished trials."""
    import fcntl

    path = folder / "host.json"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "host.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            if not path.exists():
                measure_host().save(path)
    return fit(rows, HostThroughput.load(path))
