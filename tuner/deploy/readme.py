"""README.md of an export folder: each file, how to build, what memory it costs, what was compiled here."""

from __future__ import annotations

from typing import Any

from tuner.deploy import templates


def _size_lines(summary: dict[str, Any]) -> list[str]:
    c = summary["cross"]
    if "text_bytes" not in c:
        return [f"- DSP code size: not measured ({c['note']})."]
    libm = ", ".join(c["undefined"]) or "none"
    return [
        f"- DSP code, measured: `arm-none-eabi-gcc {' '.join(c['flags'])}` gives {c['text_bytes']:,} B of code and "
        f"constants (flash), {c['data_bytes']:,} B initialized data, {c['bss_bytes']:,} B static buffers "
        f"(`arm-none-eabi-size`); it calls {libm} from libm"
        + (f" and {', '.join(c['runtime'])} from libgcc" if c["runtime"] else "")
        + ".",
    ]


def export_readme(cfg: Any, summary: dict[str, Any], arena: dict[str, Any], est: dict[str, Any]) -> str:
    s, sk = summary, templates.SKETCH
    raw_bytes = 4 * s["raw_len"]
    cost_ms = s.get("cost_model_dsp_ms")
    lines = [
        f"# {cfg.name}: int8 model and its DSP, ready for a board",
        "",
        f"Target `{cfg.target}` ({s['core']}); DSP block `{s['dsp_block']}`: {s['raw_len']} raw floats in "
        f"({s['raw_layout']}), {s['out_len']} int8 model inputs out (scale {s['input_scale']:.6g}, "
        f"zero point {s['input_zero_point']}).",
        "",
        "## Files",
        "",
        "| file | what it is |",
        "|---|---|",
        "| `config.yaml` | the candidate, complete: `tuner retrain config.yaml` rebuilds it |",
        "| `model_int8.tflite`, `model_int8.h` | the int8 network; the header is the C array plus "
        "`MODEL_INT8_LEN` and `MODEL_INT8_ARENA_SIZE` |",
        "| `model.keras`, `metrics.json` | the float model; metrics, estimate and this bundle's figures |",
        "| `dsp.h`, `dsp.c` | C99 DSP block + standardizer + int8 input quantization, constants generated from "
        "the trained candidate: `int tuner_dsp(const float *raw, int8_t *model_input)` |",
        "| `main.c` | host program: raw windows (float32) in, int8 model inputs out; stops where the TFLM "
        "interpreter would start |",
        "| `tuner_board.h` | class names, argmax, and the timing line the sketch prints |",
        "| `preprocess.json` | the fitted standardizer (train split mean/std), read by `tuner verify` |",
        f"| `{sk}/` | Arduino sketch for the Nano 33 BLE Sense: `{sk}.ino`, copies of the files above and "
        "`sample_window.h` (one raw window of the test split) |",
        "",
        "## Build",
        "",
        "Host (checks the DSP and the input quantization against Python):",
        "",
        "```bash",
        "cc -std=c99 -O2 -ffp-contract=off dsp.c main.c -lm -o dsp_host",
        "./dsp_host windows.f32 inputs.i8        # raw float32 windows in, int8 inputs out",
        "tuner verify .                           # all of it, against the leaderboard's int8 accuracy",
        "```",
        "",
        f"Board (Arduino CLI; library {templates.ARDUINO_LIBRARY} {templates.ARDUINO_LIBRARY_VERSION} "
        "from the Arduino Library Manager):",
        "",
        "```bash",
        "arduino-cli core install arduino:mbed_nano",
        f'arduino-cli lib install "{templates.ARDUINO_LIBRARY}@{templates.ARDUINO_LIBRARY_VERSION}"',
        f"arduino-cli compile --fqbn {templates.ARDUINO_FQBN} {sk}",
        f"arduino-cli upload -p /dev/ttyACM0 --fqbn {templates.ARDUINO_FQBN} {sk}",
        "arduino-cli monitor -p /dev/ttyACM0 -c baudrate=115200 | tee measurements.csv   # a few lines, Ctrl-C",
        "tuner calibrate measurements.csv --target nano33ble --out my-board.yaml",
        "```",
        "",
        "Each printed line is `model_int8.tflite,<Invoke ms>,class=<name>,dsp_us=<us>,invoke_us=<us>`: a CSV "
        "row `tuner calibrate` reads (lines starting with `#` are skipped). For another board, replace "
        f"`sample_window.h` by your sensor's window and keep `{sk}.ino`'s three calls.",
        "",
        "## Memory",
        "",
        f"- Tensor arena: `MODEL_INT8_ARENA_SIZE` = {arena['arena_define_bytes']:,} B "
        f"({arena['tflm_arena_bytes']:,} B tflite-micro needs, aligned); it also holds the int8 model input.",
        f"- DSP static buffers: `TUNER_DSP_BUFFER_BYTES` = {s['dsp_buffer_bytes']:,} B (the estimator counted "
        f"{s.get('cost_model_dsp_ram_bytes') or 0:,} B for the DSP); plus the caller's raw window, "
        f"{raw_bytes:,} B of floats.",
        *_size_lines(s),
        f"- Model flatbuffer: {est.get('model_bytes', 0) or 0:,} B of flash; estimate of the whole: RAM "
        f"{est.get('ram_bytes', 0) / 1024:.1f} kB, flash {est.get('flash_bytes', 0) / 1024:.1f} kB.",
        f"- DSP time, per-operation cost model: {cost_ms:.3f} ms"
        if cost_ms is not None
        else "- DSP time: no cost-model figure",
        "  (`tuner verify` adds the emulated instruction count on Arm Cortex-M cores).",
        "",
        "## What was and was not compiled here",
        "",
        "- Compiled and run on the host by `tuner verify`: `dsp.c` + `main.c` (system C compiler), fed the raw "
        "test split; their int8 inputs go through tflite-micro's Python interpreter with `model_int8.tflite`.",
        "- Cross-compiled by `tuner export`/`tuner verify`: `dsp.c` with `arm-none-eabi-gcc -Os` for the "
        "target's core (sizes above); `tuner verify` also runs it in the unicorn emulator on one window.",
        "- Compiled by the test suite on the host: `tuner_board.h` (its timing line is parsed by "
        "`tuner calibrate`'s reader), `sample_window.h`, `model_int8.h` (as C and C++).",
        f"- NOT compiled here: `{sk}.ino` and the TFLM C++ library (not available on this machine). Arduino "
        "builds `dsp.c` as gnu11, where GCC may fuse multiply-adds: that moves last bits only (within one "
        "int8 step of the host build).",
    ]
    if s.get("unknown_ops"):
        lines.append(f"- The sketch's op resolver lacks a method for {', '.join(s['unknown_ops'])}: add it by hand.")
    return "\n".join(lines) + "\n"
