"""The data sets of benchmarks/domains.py: public sets that ship offline (pip wheels, scikit-learn)
or are generated reproducibly, written where the tuner can read them with `--data`.

Every function returns a `--data` value (a bundled name or a path it wrote under `root`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def small_motion(root: Path) -> str:
    """80 recordings of 90-110 samples, 4 classes, 6 channels, no time column (issue 12's user story)."""
    from _small_data import write_long_csv

    return str(write_long_csv(root / "small-motion.csv"))


def watch_imbalanced(root: Path) -> str:
    """seglearn's smartwatch set keeping every recording of 2 classes and 1 in 4 of the other 5
    (seeded): real recordings, imbalanced about 4:1. Long CSV with a subject column, 50 Hz."""
    import pandas as pd

    from tuner.data import load_data

    ds = load_data("seglearn-watch")
    rng = np.random.default_rng(0)
    keep = [i for i, y in enumerate(ds.y) if y < 2 or rng.random() < 0.25]
    frames = []
    for i in keep:
        df = pd.DataFrame(ds.x[i], columns=list(ds.channel_names))
        df.insert(0, "subject", str(ds.groups[i]))
        df.insert(0, "label", ds.class_names[ds.y[i]])
        df.insert(0, "sample", i)
        df.insert(0, "time_ms", np.arange(len(df)) * 20)
        frames.append(df)
    path = root / "watch-imbalanced.csv"
    pd.concat(frames).to_csv(path, index=False)
    return str(path)


def mnist_imbalanced(root: Path) -> str:
    """mnist-5k digits 0-4 with 400/200/100/50/25 images (seeded): imbalanced 16:1, NPZ."""
    from tuner.data import load_data

    ds = load_data("mnist-5k")
    rng = np.random.default_rng(0)
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(ds.y == c), n, replace=False) for c, n in enumerate((400, 200, 100, 50, 25))]
    )
    path = root / "mnist-imbalanced.npz"
    np.savez(path, x=ds.x[idx][..., 0], y=ds.y[idx], class_names=np.array([str(c) for c in range(5)]))
    return str(path)


def bars_imbalanced(root: Path) -> str:
    """Generated 20x20 grayscale bars, 60/12/8 images (issue 12's imbalanced image folder)."""
    from _small_data import write_imbalanced_images

    return str(write_imbalanced_images(root / "bars-imbalanced"))


def tones(root: Path) -> str:
    """Generated 1 s WAV clips at 16 kHz, 4 classes (rising chirp, falling chirp, two-tone, noise
    burst) at random pitch, offset and gain in pink-ish noise, 30 clips per class, 6 'speakers'."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    rate, n = 16000, 16000
    t = np.arange(int(0.4 * rate)) / rate
    folder = root / "tones"
    for c, name in enumerate(("rise", "fall", "twotone", "burst")):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(30):
            f0 = rng.uniform(300, 1500)
            if c == 0:
                sig = np.sin(2 * np.pi * (f0 * t + 1500 * t**2))
            elif c == 1:
                sig = np.sin(2 * np.pi * (f0 * t + 1500 * t - 1500 * t**2))
            elif c == 2:
                sig = np.sin(2 * np.pi * f0 * t) + np.sin(2 * np.pi * 1.5 * f0 * t)
            else:
                sig = rng.standard_normal(len(t)) * np.hanning(len(t))
            clip = np.cumsum(rng.standard_normal(n)) * 0.002
            clip -= np.convolve(clip, np.ones(400) / 400, mode="same")  # drift removed: pink-ish noise
            start = int(rng.integers(0, n - len(t)))
            clip[start : start + len(t)] += rng.uniform(0.1, 0.5) * sig / np.abs(sig).max()
            sf.write(folder / name / f"spk{i % 6}_{i}.wav", clip.astype(np.float32), rate)
    return str(folder)


def keywords_imbalanced(root: Path) -> str:
    """The bundled keyword set with 'yes' and 'no' complete and 1 in 5 clips of the other words
    (seeded), as a WAV folder named by speaker: imbalanced 5:1."""
    import soundfile as sf

    from tuner.data import load_data

    ds = load_data("keywords")
    rng = np.random.default_rng(0)
    folder = root / "keywords-imbalanced"
    for i, (clip, y) in enumerate(zip(ds.x, ds.y, strict=True)):
        if y >= 2 and rng.random() >= 0.2:
            continue
        d = folder / ds.class_names[y]
        d.mkdir(parents=True, exist_ok=True)
        speaker = str(ds.groups[i]).replace("_", "-") if ds.groups is not None else "s"
        sf.write(d / f"{speaker}_{i}.wav", np.asarray(clip)[:, 0], int(ds.rate_hz or 16000))
    return str(folder)


def sklearn_table(root: Path, name: str) -> str:
    """A scikit-learn bundled table (wine, breast_cancer) as a wide CSV with a label column."""
    import pandas as pd
    from sklearn import datasets

    d = getattr(datasets, f"load_{name}")()
    df = pd.DataFrame(d.data, columns=[str(c).replace(" ", "_") for c in d.feature_names])
    df["label"] = [str(d.target_names[t]) for t in d.target]
    path = root / f"{name}.csv"
    df.to_csv(path, index=False)
    return str(path)


def digits_space(root: Path) -> str:
    """The image space with 8 px allowed: the fix the tuner proposes for 8x8 digits."""
    import yaml

    from tuner.space import load_space

    raw = load_space("image").model_dump(exclude_none=True)
    raw["name"] = "image-8px"
    raw["params"]["resolution_cnn"]["choices"] = [8]
    path = root / "image-8px.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)
