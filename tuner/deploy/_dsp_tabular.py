"""C for the tabular block: the per-feature standardizer and the input quantization."""

from __future__ import annotations

from typing import Any

from tuner.deploy import _c
from tuner.deploy.dsp_c import Parts


def tabular(pre: Any) -> Parts:
    n = pre.input_shape[0]
    u = _c.CUnit()
    _c.standardize(u, pre.scaler.mean, pre.scaler.std, n)
    body = f"""\
    int i;
    for (i = 0; i < {n}; i++) {{
        model_input[i] = tuner_out(raw[i], i);
    }}
"""
    return Parts(u, body, n, n, f"one row of {n} features, in the data's column order", "tabular-standardize")
