"""The deployable bundle `tuner export` adds beside the model: the generated DSP (dsp.h/dsp.c), the host
`main.c`, the Arduino sketch for the default board and a README, plus the measured DSP size.

Layout of the export folder (files next to config.yaml, model_int8.tflite, model_int8.h, ...):
  dsp.h, dsp.c            the candidate's DSP block and int8 input quantization (tuner.deploy.dsp_c)
  main.c                  host program: raw windows in, int8 model inputs out (`tuner verify` builds it)
  tuner_board.h           class names, argmax and the timing line the sketch prints
  preprocess.json         the fitted standardizer (mean/std), so `tuner verify` can rebuild the block
  tuner_nano33ble/        the Arduino sketch: tuner_nano33ble.ino + copies of the generated files
  README.md               what each file is, how to build, what was and was not compiled here
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tuner.deploy import templates
from tuner.deploy.cross import core_spec, cross_compile, toolchain_missing

BUNDLE_FILES = ("dsp.h", "dsp.c", "main.c", "tuner_board.h", "preprocess.json", "README.md")
SKETCH_FILES = ("dsp.h", "dsp.c", "model_int8.h", "tuner_board.h", "sample_window.h")
DEPLOY_JSON = "deploy.json"  # written into the trial folder too, for `tuner show` and the report


def input_quantization(tflite: bytes) -> tuple[float, int]:
    """(scale, zero_point) of the int8 model's input tensor."""
    from tuner.quantize import interpreter

    scale, zero = interpreter(tflite).get_input_details()[0]["quantization"]
    return float(scale), int(zero)


def load_problem(cfg: Any) -> Any:
    """The sweep's data and splits for an exported config (same source, seed and domain as the sweep)."""
    from tuner.budgets import Budgets
    from tuner.pipeline import Problem
    from tuner.targets import load_target

    return Problem.from_source(cfg.data, load_target(cfg.target), Budgets(), seed=cfg.seed, domain=cfg.domain)


def fitted_preprocessor(cfg: Any, problem: Any, state: dict[str, Any]) -> Any:
    """The candidate's preprocessor with the trained standardizer loaded (no refit)."""
    from tuner.preprocess import build_preprocessor

    pre = build_preprocessor(cfg.candidate, problem.train)
    pre.load_state(state)
    return pre


def measure_size(folder: Path, core: str) -> dict[str, Any]:
    """Measured -Os size of dsp.c on the target's core, or a note saying why there is none."""
    if core_spec(core) is None:
        return {"note": f"{core} is not an Arm Cortex-M core: no arm-none-eabi build; DSP size not measured"}
    missing = toolchain_missing()
    if missing:
        return {"note": missing}
    with tempfile.TemporaryDirectory() as d:
        build = cross_compile(folder / "dsp.c", core, d).to_dict()
    build.pop("object_path")
    return build


def write_bundle(
    folder: Path,
    cfg: Any,
    pre: Any,
    tflite: bytes,
    header_arena: dict[str, Any],
    estimate: dict[str, Any],
    class_names: list[str] | tuple[str, ...],
    sample: tuple[np.ndarray, int],
    core: str,
) -> dict[str, Any]:
    """Write the bundle into `folder` (which already holds model_int8.h); returns the deploy summary."""
    from tuner.deploy.dsp_c import generate_dsp

    scale, zero = input_quantization(tflite)
    src = generate_dsp(pre, scale, zero)
    (folder / "dsp.h").write_text(src.header)
    (folder / "dsp.c").write_text(src.source)
    (folder / "main.c").write_text(templates.MAIN_C)
    (folder / "tuner_board.h").write_text(templates.board_header(class_names))
    (folder / "preprocess.json").write_text(json.dumps(pre.state()))
    raw, label = sample
    sketch_dir = folder / templates.SKETCH
    sketch_dir.mkdir()
    ino, unknown_ops = templates.sketch([layer["op"] for layer in estimate.get("layers", [])])
    (sketch_dir / f"{templates.SKETCH}.ino").write_text(ino)
    (sketch_dir / "sample_window.h").write_text(templates.sample_header(raw, label, class_names[label]))
    for f in SKETCH_FILES[:-1]:
        shutil.copy(folder / f, sketch_dir / f)
    summary = {
        "dsp_block": src.block,
        "raw_len": src.raw_len,
        "out_len": src.out_len,
        "raw_layout": src.raw_layout(),
        "dsp_buffer_bytes": src.buffer_bytes,
        "libm": list(src.libm),
        "input_scale": scale,
        "input_zero_point": zero,
        "core": core,
        "cross": measure_size(folder, core),
        "cost_model_dsp_ms": estimate.get("dsp_latency_ms"),
        "cost_model_dsp_ram_bytes": estimate.get("dsp_ram_bytes"),
        "sketch": templates.SKETCH,
        "arduino_library": f"{templates.ARDUINO_LIBRARY} {templates.ARDUINO_LIBRARY_VERSION}",
        "unknown_ops": unknown_ops,
    }
    from tuner.deploy.readme import export_readme

    (folder / "README.md").write_text(export_readme(cfg, summary, header_arena, estimate))
    return summary


def bundle_from_state(
    folder: Path, cfg: Any, problem: Any, state: dict[str, Any], tflite: bytes, header_arena: dict, est: dict
) -> dict[str, Any]:
    """Write the bundle for a candidate whose fitted preprocessing is `state`, on `problem`'s data.

    A block the C generator cannot take (e.g. images of mixed sizes) leaves the model files as they are
    and says why in the summary (`error`), instead of failing the whole export."""
    from tuner.deploy.dsp_c import raw_windows
    from tuner.errors import InputError
    from tuner.targets import load_target

    pre = fitted_preprocessor(cfg, problem, state)
    try:
        raws = raw_windows(pre, problem.test)
        _, y = pre.transform(problem.test)
        sample = (raws[0], int(y[0]))
        core = load_target(cfg.target).core
        return write_bundle(folder, cfg, pre, tflite, header_arena, est, problem.class_names, sample, core)
    except InputError as exc:  # data the generated C cannot take (e.g. images of mixed sizes)
        for f in (*BUNDLE_FILES, templates.SKETCH):
            p = folder / f
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
        return {"error": f"no DSP bundle: {exc}"}


def export_bundle(folder: Path, cfg: Any, trial_dir: Path, tflite: bytes, header_arena: dict, est: dict) -> dict:
    """`tuner export`'s hook: rebuild the trial's fitted preprocessor, write the bundle, and record the
    deploy summary in the trial folder (`deploy.json`) for `tuner show` and the report."""
    from tuner.errors import InputError

    state_file = trial_dir / "preprocess.json"
    if not state_file.is_file():
        raise InputError(f"{state_file} is missing (the fitted preprocessing of the trial); re-run the trial")
    state = json.loads(state_file.read_text())
    summary = bundle_from_state(folder, cfg, load_problem(cfg), state, tflite, header_arena, est)
    record_deploy(trial_dir, summary)
    return summary


def record_deploy(trial_dir: Path, update: dict[str, Any]) -> None:
    """Merge `update` into the trial folder's deploy.json (export writes sizes, verify adds its results)."""
    from tuner.files import read_json, write_atomic

    path = trial_dir / DEPLOY_JSON
    old = read_json(path, fix="delete it and run `tuner export` again")
    write_atomic(path, json.dumps({**old, **update}, indent=1, default=str))
