from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_wav(path: Path, signal: np.ndarray, rate: int) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), signal, rate)


def write_image(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """3 classes x 4 images, png/jpg/bmp mixed, different sizes, gray and colour."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for cls in ["cat", "dog", "owl"]:
        for i in range(4):
            ext = [".png", ".jpg", ".bmp", ".png"][i]
            shape = (20 + i, 30, 3) if i % 2 else (24, 24)
            write_image(root / cls / f"{cls}{i}{ext}", rng.integers(0, 255, shape, dtype=np.uint8))
    return root
