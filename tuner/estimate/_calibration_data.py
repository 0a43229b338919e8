"""The shipped calibration data: measured latencies (`tuner/_data/calibration/latency.csv`, one
public source per row) and the graphs of the reference models they were measured on
(`reference_graphs.json`, written by `benchmarks/estimator_accuracy.py --write-graphs` from the
Keras rebuilds in `benchmarks/reference_models.py`; `--check` verifies they still match).

Columns of latency.csv: those of the measurement (board, mcu, core, clock_mhz, runtime, kernels,
model, macs, latency_ms, source, notes), plus `family` (the kernel family the estimator fits the
row to; empty: not fitted), `weight` (its weight in the fit, 0..1; 0 = shown in the validation
tables but not fitted and not in the error means) and `use` (why that weight, decided from the
row's notes before any fit).
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from tuner.errors import InputError
from tuner.estimate._graph import Graph, graph_from_dict
from tuner.paths import PACKAGE_DATA

CALIBRATION_DIR = PACKAGE_DATA / "calibration"
LATENCY_CSV = CALIBRATION_DIR / "latency.csv"
GRAPHS_JSON = CALIBRATION_DIR / "reference_graphs.json"
_COLUMNS = ("board", "core", "clock_mhz", "kernels", "family", "weight", "model", "macs", "latency_ms", "source")


@dataclass(frozen=True)
class Measurement:
    board: str
    core: str
    clock_mhz: float
    runtime: str
    kernels: str  # as the source states it
    family: str  # the kernel family fitted ("" = not fitted)
    weight: float
    model: str
    macs: int
    latency_ms: float
    source: str
    notes: str = ""
    use: str = ""

    @property
    def cycles(self) -> float:
        return self.latency_ms * 1e-3 * self.clock_mhz * 1e6


def read_rows(path: str | Path = LATENCY_CSV) -> tuple[Measurement, ...]:
    """Rows of a calibration CSV (the shipped one by default)."""
    path = Path(path)
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: calibration CSV lacks columns {missing}")
        rows = []
        for n, r in enumerate(reader, start=2):
            try:
                rows.append(
                    Measurement(
                        r["board"],
                        r["core"],
                        float(r["clock_mhz"]),
                        r.get("runtime", ""),
                        r["kernels"],
                        r["family"],
                        float(r["weight"]),
                        r["model"],
                        int(r["macs"]),
                        float(r["latency_ms"]),
                        r["source"],
                        r.get("notes", ""),
                        r.get("use", ""),
                    )
                )
            except ValueError as exc:
                raise InputError(f"{path}:{n}: {exc}") from None
            m = rows[-1]
            if not (m.latency_ms > 0 and m.clock_mhz > 0 and 0 <= m.weight <= 1):
                raise InputError(
                    f"{path}:{n}: latency_ms > 0, clock_mhz > 0 and 0 <= weight <= 1 must hold, got "
                    f"{m.latency_ms}, {m.clock_mhz}, {m.weight}"
                )
    return tuple(rows)


@functools.cache
def measurements() -> tuple[Measurement, ...]:
    return read_rows(LATENCY_CSV)


@functools.cache
def reference_graphs() -> dict[str, Graph]:
    return {k: graph_from_dict(v) for k, v in json.loads(GRAPHS_JSON.read_text()).items()}


# CoreMark/MHz of each core (Arm and vendor product pages / EEMBC scores), used only to
# transfer a board scale to a core that has no measurement of its own ("cold start").
COREMARK_PER_MHZ: dict[str, float] = {
    "cortex-m0plus": 2.46,
    "cortex-m4f": 3.42,
    "cortex-m33": 4.02,
    "cortex-m7": 5.01,
    "cortex-m55": 4.40,
    "cortex-m85": 6.28,
    "xtensa-lx6": 3.35,
    "xtensa-lx7": 3.77,
    "riscv32-imc": 2.55,
}
UNKNOWN_COREMARK = 3.5  # a core not in the table (riscv32-hp): no published score found
COREMARK_SOURCE = (
    "CoreMark/MHz from Arm Cortex-M product pages (M0+ 2.46, M4 3.42, M33 4.02, M7 5.01, M55 4.40, "
    "M85 6.28) and Espressif datasheets/EEMBC (ESP32 LX6 3.35, ESP32-S3 LX7 3.77, ESP32-C3 2.55)"
)
