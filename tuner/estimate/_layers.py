"""The per-layer table of an estimate, shared by `tuner show` and the HTML report."""

from __future__ import annotations

import logging
from typing import Any

from tuner.errors import InputError
from tuner.estimate._graph import parse

log = logging.getLogger(__name__)


def layer_rows(estimate: dict[str, Any], tflite: bytes | None = None) -> list[dict[str, Any]]:
    """Per-layer rows of an `Estimate.to_dict()`: index, op, shape, macs, cycles, latency_ms,
    scratch_bytes and, when the model is given, ram_bytes (working set of the op: its activation
    inputs and outputs plus kernel scratch) and weight_bytes (its constant tensors, in flash).
    A model that cannot be parsed leaves ram_bytes and weight_bytes empty (with a warning)."""
    tensors: dict[int, tuple[int, int]] = {}  # op index -> (activation bytes, constant bytes)
    if tflite is not None:
        try:
            g = parse(tflite)
        except InputError as exc:  # memory bars are a nicety: say why they are missing, go on
            log.warning("per-layer memory left out: %s", exc)
        else:
            for op in g.ops:
                ins = [g.t(i) for i in op.inputs if i >= 0]
                act = sum(t.bytes for t in ins if not t.constant) + sum(g.t(i).bytes for i in op.outputs)
                tensors[op.index] = (act, sum(t.bytes for t in ins if t.constant))
    rows = []
    for i, lyr in enumerate(estimate.get("layers") or []):
        index = int(lyr.get("index", i))
        scratch = int(lyr.get("scratch_bytes") or 0)
        act, const = tensors.get(index, (None, None))
        rows.append(
            {
                "index": index,
                "op": str(lyr.get("op") or "?"),
                "shape": lyr.get("output_shape"),
                "macs": lyr.get("macs"),
                "cycles": lyr.get("cycles"),
                "latency_ms": lyr.get("latency_ms"),
                "scratch_bytes": scratch,
                "ram_bytes": None if act is None else act + scratch,
                "weight_bytes": const,
                "note": lyr.get("note") or "",
            }
        )
    return rows
