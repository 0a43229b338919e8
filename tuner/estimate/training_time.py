"""Training-time estimate from throughput measured on this machine.

Model: seconds per epoch = overhead_s + steps * step_s + samples * macs * mac_s, where `macs` are the
forward multiply-accumulates of one sample (training costs about 3x forward). The three
coefficients come from a short measurement on this host (`measure_host`, a few seconds, cached per
sweep) and are refitted on the real training times of finished trials as the sweep goes on.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class HostThroughput:
    overhead_s: float  # per epoch: validation pass setup, callbacks
    step_s: float  # per optimizer step, independent of model size
    mac_s: float  # per forward MAC per training sample (includes backward)
    source: str = "measured"

    def epoch_seconds(self, macs: int, samples: int, batch_size: int) -> float:
        steps = -(-samples // batch_size)
        return self.overhead_s + steps * self.step_s + samples * macs * self.mac_s

    def estimate_seconds(self, macs: int, samples: int, batch_size: int, epochs: int) -> float:
        """Upper estimate: all `epochs` run (early stopping may end sooner), plus ~1 s to compile."""
        return 1.0 + epochs * self.epoch_seconds(macs, samples, batch_size)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> HostThroughput:
        return cls(**json.loads(path.read_text()))


def fit(rows: list[tuple[int, int, int, int, float]], prior: HostThroughput) -> HostThroughput:
    """Refit on finished trials: rows of (macs, samples, batch_size, epochs_run, train_seconds).

    Non-negative least squares on per-epoch time; keeps the prior until 4 trials are in.
    """
    if len(rows) < 4:
        return prior
    from scipy.optimize import nnls

    a = np.array([[1.0, -(-s // b), s * m] for m, s, b, _, _ in rows])
    t = np.array([sec / max(e, 1) for *_, e, sec in rows])
    scale = a.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(a / scale, t)
    coef = coef / scale
    if not np.all(np.isfinite(coef)):
        return prior
    return HostThroughput(float(coef[0]), float(coef[1]), float(coef[2]), source=f"refit on {len(rows)} trials")


def measure_host(input_dim: int = 64, samples: int = 2048, batch_size: int = 32) -> HostThroughput:
    """Time one epoch of a small and a large dense model on random data (about 3-5 s)."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, input_dim)).astype(np.float32)
    y = rng.integers(0, 4, samples)
    points = []
    for width in (8, 512):
        m = keras.Sequential([keras.Input((input_dim,)), keras.layers.Dense(width, "relu"), keras.layers.Dense(4)])
        m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x[:batch_size], y[:batch_size], epochs=1, verbose=0)  # build + trace
        for n in (samples // 4, samples):
            start = time.perf_counter()
            m.fit(x[:n], y[:n], epochs=1, batch_size=batch_size, verbose=0)
            points.append((input_dim * width + width * 4, n, time.perf_counter() - start))
    a = np.array([[1.0, -(-n // batch_size), n * macs] for macs, n, _ in points])
    t = np.array([s for *_, s in points])
    from scipy.optimize import nnls

    scale = a.max(axis=0)
    coef, _ = nnls(a / scale, t)
    coef = coef / scale
    return HostThroughput(float(coef[0]), float(max(coef[1], 1e-5)), float(coef[2]), source="measured on this host")


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
