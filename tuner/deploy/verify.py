"""The host twin (`tuner verify NAME|EXPORT_DIR`): prove on the host that the exported bundle gives the
leaderboard's int8 accuracy before anyone flashes a board.

1. dsp.c + main.c are built with the system C compiler and fed the raw TEST split of the sweep's data
   (same source, seed and split as the sweep: the leaderboard's int8 accuracy was measured on it).
2. The C int8 inputs are compared with numpy's (the pipeline's features, quantized as `predict_int8`).
3. They go through tflite-micro's Python interpreter with model_int8.tflite in the header's arena.
4. dsp.c is cross-compiled for the target's Cortex-M core (sizes, undefined symbols) and run on one
   window in the unicorn emulator (instruction count -> DSP time).
The first stage that disagrees is named: DSP, quantization, network.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuner.errors import InputError

ACCURACY_TOLERANCE = 0.005  # 0.5 points
MIN_EQUAL_SHARE = 0.999
HOST_FLAGS = ("-std=c99", "-O2", "-ffp-contract=off", "-Wall")


@dataclass
class VerifyResult:
    """Figures of one verify run; `stage` is the first mismatching stage (None: all agree)."""

    export_dir: str
    source: str
    target: str
    core: str
    dsp_block: str
    n_inputs: int
    leaderboard_int8_accuracy: float
    twin_accuracy: float  # C DSP + tflite-micro
    numpy_tflm_accuracy: float  # numpy DSP + tflite-micro (tells a DSP problem from a network one)
    equal_share: float  # share of int8 model inputs equal between C and numpy
    max_step: int  # largest |C - numpy| in int8 steps
    dsp_max_step: float  # largest |C - numpy| of the features in steps of the header's scale
    header_quantization: tuple[float, int]
    model_quantization: tuple[float, int]
    dsp_buffer_bytes: int
    raw_len: int
    libm: list[str]  # libm functions dsp.c is documented to call (DspSource.libm)
    cost_model_dsp_ms: float | None
    estimate_latency_ms: float | None  # the sweep's latency estimate: network + cost-model DSP
    latency_ms_with_emulated_dsp: float | None = None  # the same with the emulated DSP time instead
    cross: dict[str, Any] = field(default_factory=dict)
    emulation: dict[str, Any] | None = None
    emulation_note: str = ""
    emulated_equals_host: bool | None = None
    stage: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.stage is None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def resolve(ref: str | Path, work: Path) -> Path:
    """An export folder as given, or a sweep name: its best trial exported into `work`."""
    p = Path(ref)
    if p.is_dir() and (p / "config.yaml").is_file():
        return p
    from tuner.exporter import export_trial
    from tuner.sweep import sweep_dir

    try:
        sweep = sweep_dir(str(ref))
    except InputError:  # not a sweep name, so a path
        sweep = None
    if not p.is_dir() and sweep is not None and (sweep / "sweep.yaml").is_file():
        return export_trial(str(ref), "best", work / "export")  # a sweep name may hold a '.' (run.v2)
    if p.is_dir() or p.suffix or sweep is None:
        raise InputError(f"{ref} is not an export folder (no config.yaml); run `tuner export NAME --out DIR` first")
    raise InputError(f"'{ref}' is neither an export folder nor a sweep in {sweep.parent}")


def _header_quantization(dsp_h: str) -> tuple[float, int]:
    s = re.search(r"#define TUNER_INPUT_SCALE\s+\(?([-+0-9.eE]+)f?", dsp_h)
    z = re.search(r"#define TUNER_INPUT_ZERO_POINT\s+\(?(-?\d+)", dsp_h)
    if not (s and z):
        raise InputError("dsp.h lacks TUNER_INPUT_SCALE / TUNER_INPUT_ZERO_POINT; re-export")
    return float(s.group(1)), int(z.group(1))


def host_inputs(folder: Path, raws: np.ndarray, out_len: int, work: Path) -> np.ndarray:
    """Build dsp.c + main.c with the system C compiler and run it on every raw window: (n, out_len) int8."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise InputError("no C compiler (cc/gcc) on PATH: apt-get install gcc")
    exe = work / "dsp_host"
    build = subprocess.run(
        [cc, *HOST_FLAGS, "-I", str(folder), str(folder / "dsp.c"), str(folder / "main.c"), "-lm", "-o", str(exe)],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise InputError(f"dsp.c/main.c do not compile: {build.stderr.strip().splitlines()[:1]}")
    (work / "raw.f32").write_bytes(np.ascontiguousarray(raws, dtype="<f4").tobytes())
    run = subprocess.run([str(exe), str(work / "raw.f32"), str(work / "in.i8")], capture_output=True, text=True)
    if run.returncode != 0:
        raise InputError(f"the host DSP failed: {run.stderr.strip()[-300:]}")
    return np.fromfile(work / "in.i8", dtype=np.int8).reshape(-1, out_len)


def tflm_predict(tflite: bytes, inputs: np.ndarray, arena_bytes: int) -> np.ndarray:
    """Class index per int8 input row with tflite-micro's interpreter in `arena_bytes` (the header's)."""
    from tflite_micro.python.tflite_micro import runtime

    ip = runtime.Interpreter.from_bytes(tflite, arena_size=int(arena_bytes))
    shape = tuple(ip.get_input_details(0)["shape"])
    pred = np.empty(len(inputs), dtype=np.int64)
    for i, row in enumerate(inputs):
        ip.set_input(row.reshape(shape), 0)
        ip.invoke()
        pred[i] = int(np.argmax(ip.get_output(0)))
    return pred


def _stage(r: VerifyResult) -> tuple[str | None, str]:
    if r.dsp_max_step > 1.0 + 1e-6:
        return "DSP", f"C features differ from numpy's by up to {r.dsp_max_step:.2f} int8 steps (allowed: 1)"
    hs, hz = r.header_quantization
    ms, mz = r.model_quantization
    if hz != mz or abs(hs - ms) > 1e-6 * ms:
        return "quantization", f"dsp.h quantizes with scale {hs:g}, zero point {hz}; the model expects {ms:g}, {mz}"
    if r.equal_share < MIN_EQUAL_SHARE or r.max_step > 1:
        return "quantization", (
            f"int8 inputs equal on {r.equal_share:.3%} (need >= {MIN_EQUAL_SHARE:.1%}), max {r.max_step} steps (max 1)"
        )
    if abs(r.twin_accuracy - r.leaderboard_int8_accuracy) > ACCURACY_TOLERANCE + 1e-9:
        return "network", (
            f"host-twin accuracy {r.twin_accuracy:.4f} vs leaderboard {r.leaderboard_int8_accuracy:.4f} "
            f"(numpy inputs through tflite-micro: {r.numpy_tflm_accuracy:.4f}); allowed: 0.5 points"
        )
    extra = r.cross.get("undefined_beyond_libm")
    if extra:
        return "DSP", f"the {r.core} object needs symbols beyond the documented libm set: {', '.join(extra)}"
    if r.emulated_equals_host is False:
        return "DSP", f"the {r.core} emulator's int8 inputs differ from the host C build's by more than 1 step"
    return None, ""


def _on_target(r: VerifyResult, folder: Path, raw0: np.ndarray, host0: np.ndarray, libm: list[str], clock: int) -> None:
    """Cross-compile and emulate dsp.c on the target's core, filling r.cross / r.emulation (or notes)."""
    from tuner.deploy.bundle import measure_size
    from tuner.deploy.cross import core_spec

    r.cross = measure_size(folder, r.core)
    if "undefined" in r.cross:
        r.cross["undefined_beyond_libm"] = sorted(set(r.cross["undefined"]) - set(libm))
    spec = core_spec(r.core)
    if "text_bytes" not in r.cross or spec is None or spec.unicorn is None:
        why = r.cross.get("note") or f"no emulator model for {r.core} ({spec.cpi_source if spec else 'not Arm'})"
        r.emulation_note = f"{why}; the DSP time stays the per-operation cost model's"
        return
    from tuner.deploy.emulate import link_program, run_program, timing

    with tempfile.TemporaryDirectory() as d:
        try:
            prog = link_program(folder / "dsp.c", r.core, d)
        except InputError as exc:  # e.g. newlib missing: sizes stand, no instruction count
            r.emulation_note = f"not emulated: {exc}"
            return
    n, out, rc = run_program(prog, raw0, len(host0))
    r.emulation = {**timing(r.core, n, clock).to_dict(), "return_code": rc}
    r.emulated_equals_host = bool(rc == 0 and np.abs(out.astype(int) - host0.astype(int)).max() <= 1)
    r.emulation["max_step_vs_host"] = int(np.abs(out.astype(int) - host0.astype(int)).max())
    if r.estimate_latency_ms is not None and r.cost_model_dsp_ms is not None:
        r.latency_ms_with_emulated_dsp = r.estimate_latency_ms - r.cost_model_dsp_ms + r.emulation["dsp_ms"]


def verify_folder(folder: Path, work: Path) -> VerifyResult:
    from tuner.config import load_config
    from tuner.deploy.bundle import fitted_preprocessor, input_quantization, load_problem
    from tuner.deploy.dsp_c import raw_windows
    from tuner.targets import load_target

    need = ("config.yaml", "metrics.json", "model_int8.tflite", "dsp.h", "dsp.c", "main.c", "preprocess.json")
    missing = [f for f in need if not (folder / f).is_file()]
    if missing:
        raise InputError(f"{folder} lacks {', '.join(missing)}; re-export with this version (`tuner export`)")
    from tuner.files import read_json

    cfg = load_config(folder / "config.yaml")
    summary = read_json(folder / "metrics.json", fix="export the trial again")
    if "int8_accuracy" not in summary.get("metrics", {}) or "header_arena" not in summary:
        raise InputError(f"{folder / 'metrics.json'} is not one `tuner export` wrote; export the trial again")
    deploy = summary.get("deploy", {})
    tflite = (folder / "model_int8.tflite").read_bytes()
    problem = load_problem(cfg)
    pre = fitted_preprocessor(cfg, problem, read_json(folder / "preprocess.json", fix="export the trial again"))
    x, y = pre.transform(problem.test)
    raws = raw_windows(pre, problem.test)
    x = x.reshape(len(x), -1)
    c_in = host_inputs(folder, raws, x.shape[1], work)
    ms, mz = input_quantization(tflite)
    np_in = np.clip(np.round(x / ms + mz), -128, 127).astype(np.int8)  # as tuner.quantize.predict_int8
    hs, hz = _header_quantization((folder / "dsp.h").read_text())
    lo, hi = (-128 - hz) * hs, (127 - hz) * hs
    dev = np.abs((c_in.astype(np.float64) - hz) * hs - np.clip(x, lo, hi)) / hs
    step = np.abs(c_in.astype(int) - np_in.astype(int))
    arena = summary["header_arena"]["arena_define_bytes"]
    target = load_target(cfg.target)
    r = VerifyResult(
        export_dir=str(folder),
        source=str(summary.get("source", "")),
        target=target.id,
        core=target.core,
        dsp_block=str(deploy.get("dsp_block", "")),
        n_inputs=len(y),
        leaderboard_int8_accuracy=float(summary["metrics"]["int8_accuracy"]),
        twin_accuracy=float((tflm_predict(tflite, c_in, arena) == y).mean()),
        numpy_tflm_accuracy=float((tflm_predict(tflite, np_in, arena) == y).mean()),
        equal_share=float((step == 0).mean()),
        max_step=int(step.max()),
        dsp_max_step=float(dev.max()),
        header_quantization=(hs, hz),
        model_quantization=(ms, mz),
        dsp_buffer_bytes=int(deploy.get("dsp_buffer_bytes", 0)),
        raw_len=int(raws.shape[1]),
        libm=list(deploy.get("libm", [])),
        cost_model_dsp_ms=summary.get("estimate", {}).get("dsp_latency_ms"),
        estimate_latency_ms=summary.get("estimate", {}).get("latency_ms"),
    )
    _on_target(r, folder, raws[0], c_in[0], r.libm, target.clock_hz)
    r.stage, r.reason = _stage(r)
    return r


def verify(ref: str | Path) -> VerifyResult:
    """Verify an export folder (or a sweep's best trial, exported to a temporary folder)."""
    from tuner.deploy.bundle import record_deploy

    with tempfile.TemporaryDirectory(prefix="tuner-verify-") as d:
        work = Path(d)
        folder = resolve(ref, work)
        r = verify_folder(folder, work)
        if folder.resolve().parent != work.resolve():  # a folder the user keeps: leave the result there
            (folder / "verify.json").write_text(json.dumps(r.to_dict(), indent=1, default=str))
        else:
            r.export_dir = f"{ref} (best trial, exported to a temporary folder)"
    trial = _trial_dir(r.source)
    if trial is not None:
        record_deploy(trial, {"verify": r.to_dict(), "cross": r.cross, "emulation": r.emulation})
    return r


def _trial_dir(source: str) -> Path | None:
    """The results trial folder an export came from ("name/trial-N"), if it is on this machine."""
    m = re.fullmatch(r"(.+)/trial-(\d+)", source)
    if not m:
        return None
    from tuner.sweep import sweep_dir

    d = sweep_dir(m.group(1)) / "trials" / m.group(2)
    return d if d.is_dir() else None
