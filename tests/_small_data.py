"""Generated small user data sets (issue 12's user story): a long CSV without a time column and an
imbalanced image folder. Seeded, small, written in well under a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_long_csv(path: Path, n_recordings: int = 80, n_classes: int = 4, n_channels: int = 6, seed: int = 0) -> Path:
    """80 recordings of 90-110 samples, 4 classes, 6 channels, no time column: class c holds the
    sensor in its own orientation (a per-class offset on every channel, like gravity on an IMU) and
    moves at 1 + c cycles per 50 samples (random phase and gain), plus noise. Per-channel statistics
    separate the classes, as in a real small motion set."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    offsets = rng.normal(0.0, 1.0, (n_classes, n_channels))
    rows = []
    for r in range(n_recordings):
        c = r % n_classes
        n = int(rng.integers(90, 111))
        t = np.arange(n)
        sig = np.stack(
            [
                offsets[c, k]
                + rng.uniform(0.5, 1.5) * np.sin(2 * np.pi * (1 + c) * t / 50 + rng.uniform(0, 2 * np.pi))
                + 0.4 * rng.standard_normal(n)
                for k in range(n_channels)
            ],
            axis=1,
        )
        df = pd.DataFrame(sig, columns=[f"ch{k}" for k in range(n_channels)])
        df.insert(0, "label", f"class{c}")
        df.insert(0, "sample", r)
        rows.append(df)
    pd.concat(rows).to_csv(path, index=False)
    return path


def write_imbalanced_images(root: Path, counts: tuple[int, ...] = (60, 12, 8), side: int = 20, seed: int = 0) -> Path:
    """Grayscale PNGs, one folder per class with `counts` images: class k is a bright bar at
    orientation k (horizontal, vertical, diagonal) on noise. Imbalanced 60/12/8 by default."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    masks = [np.abs(yy - side // 2) < 3, np.abs(xx - side // 2) < 3, np.abs(yy - xx) < 3]
    for k, n in enumerate(counts):
        d = root / f"c{k}"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = rng.normal(60, 30, (side, side))
            a[masks[k % len(masks)]] += rng.uniform(10, 50)  # faint bars: not every image is easy
            Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), mode="L").save(d / f"{i}.png")
    return root
