"""The tuner's own processes import Keras without scikit-learn (tuner._quiet)."""

from __future__ import annotations

import subprocess
import sys


def test_a_lean_import_leaves_scikit_learn_out_and_still_importable() -> None:
    code = (
        "import sys\n"
        "from tuner._quiet import import_tensorflow_quietly\n"
        "import_tensorflow_quietly(lean=True)\n"
        "import keras\n"
        "print('sklearn' in sys.modules, keras.layers.Dense(2).units)\n"
        "from sklearn.datasets import load_iris\n"
        "print(len(load_iris().target))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "2", "150"]
