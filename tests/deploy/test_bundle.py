"""The bundle's fixed C parts, compiled on the host: the timing line `tuner calibrate` reads, argmax, the
sample window, the sketch's op resolver; and the export of a real sweep's winner (slow)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tuner.deploy import templates

needs_cc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc (the README test command installs it)")


def _run_c(tmp_path: Path, files: dict[str, str], main: str) -> str:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "t.c").write_text(main)
    exe = tmp_path / "t"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", str(tmp_path / "t.c"), "-o", str(exe)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout


@needs_cc
def test_timing_line_is_a_row_tuner_calibrate_reads(tmp_path):
    from tuner.estimate import read_measurements

    board = templates.board_header(["walk", "run, fast", "sit"])
    out = _run_c(
        tmp_path,
        {"tuner_board.h": board},
        textwrap.dedent("""
        #include "tuner_board.h"
        int main(void) {
            char line[160];
            const int8_t scores[3] = {-5, 90, 90};
            tuner_timing_line(line, sizeof line, tuner_argmax(scores, 3), 812u, 12045u);
            puts("# tinyml-tuner: expected class walk");
            puts(line);
            tuner_timing_line(line, sizeof line, 0, 700u, 9u);
            puts(line);
            return 0;
        }
    """),
    )
    lines = out.splitlines()
    # first maximum wins (numpy's argmax); the class name's comma is made CSV-safe
    assert lines[1] == "model_int8.tflite,12.045,class=run__fast,dsp_us=812,invoke_us=12045"
    assert lines[2] == "model_int8.tflite,0.009,class=walk,dsp_us=700,invoke_us=9"
    (tmp_path / "model_int8.tflite").write_bytes(b"TFL3")
    (tmp_path / "measurements.csv").write_text(out)
    rows = read_measurements(tmp_path / "measurements.csv")
    assert [(p.name, ms) for p, ms in rows] == [("model_int8.tflite", 12.045), ("model_int8.tflite", 0.009)]


@needs_cc
def test_sample_window_round_trips_float32(tmp_path):
    raw = np.array([1.0, -0.1, 3.4028235e38, 1e-45, 0.0, 123456.789], dtype=np.float32)
    dsp_h = "#define TUNER_DSP_RAW_LEN 6\n"
    out = _run_c(
        tmp_path,
        {"dsp.h": dsp_h, "sample_window.h": templates.sample_header(raw, 2, "sit")},
        textwrap.dedent("""
        #include <stdio.h>
        #include <string.h>
        #include "sample_window.h"
        int main(void) {
            for (int i = 0; i < TUNER_DSP_RAW_LEN; i++) {
                unsigned int u; memcpy(&u, &tuner_sample_window[i], 4); printf("%08x\\n", u);
            }
            printf("%d\\n", TUNER_SAMPLE_LABEL);
            return 0;
        }
    """),
    )
    bits = [int(h, 16) for h in out.split()[:-1]]
    assert bits == raw.view(np.uint32).tolist() and out.split()[-1] == "2"


def test_sketch_registers_each_op_once_and_flags_unknown_ones():
    ino, unknown = templates.sketch(["FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX", "CUMSUM"])
    assert ino.count("resolver.AddFullyConnected();") == 1 and ino.count("resolver.AddSoftmax();") == 1
    assert "MicroMutableOpResolver<3>" in ino and unknown == ["CUMSUM"]
    assert "// CUMSUM: add the matching resolver.Add...() call of TFLM" in ino
    assert f"#include <{templates.ARDUINO_LIBRARY}.h>" in ino and "MODEL_INT8_ARENA_SIZE" in ino


# Stand-ins for the Arduino core and the TFLM API the sketch uses (the real library is not installed here):
# same names and signatures as TFLM's micro_interpreter.h / micro_mutable_op_resolver.h, so the sketch's
# own code, its includes and the generated files are compiled together and run once on the host.
TFLM_STUB = """
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
typedef union { int8_t *int8; } TfLitePtrUnion;
typedef struct { TfLitePtrUnion data; } TfLiteTensor;
namespace tflite {
struct Model {};
inline const Model *GetModel(const void *) { static Model m; return &m; }
template <unsigned N> struct MicroMutableOpResolver {
  int added = 0;
#define ADD(name) TfLiteStatus name() { added++; return kTfLiteOk; }
  ADD(AddFullyConnected) ADD(AddSoftmax) ADD(AddConv2D) ADD(AddDepthwiseConv2D) ADD(AddReshape)
  ADD(AddMaxPool2D) ADD(AddAveragePool2D) ADD(AddMean) ADD(AddAdd) ADD(AddMul) ADD(AddQuantize)
  ADD(AddRelu) ADD(AddRelu6) ADD(AddPad) ADD(AddExpandDims) ADD(AddSqueeze) ADD(AddLogistic)
  ADD(AddConcatenation) ADD(AddTranspose) ADD(AddSum) ADD(AddHardSwish)
#undef ADD
};
struct MicroInterpreter {
  int8_t in[1 << 16], out[64];
  TfLiteTensor tin, tout;
  template <typename R> MicroInterpreter(const Model *, const R &, uint8_t *, size_t) {
    tin.data.int8 = in; tout.data.int8 = out;
    for (int i = 0; i < 64; i++) out[i] = (int8_t)(i == STUB_CLASS ? 100 : -100);
  }
  TfLiteStatus AllocateTensors() { return kTfLiteOk; }
  TfLiteStatus Invoke() { return kTfLiteOk; }
  TfLiteTensor *input(size_t) { return &tin; }
  TfLiteTensor *output(size_t) { return &tout; }
};
}  // namespace tflite
struct SerialStub {
  void begin(long) {}
  explicit operator bool() const { return true; }
  void print(const char *s) { fputs(s, stdout); }
  void println(const char *s) { puts(s); }
} Serial;
inline uint32_t micros() { static uint32_t t = 0; return t += 1500; }
inline void delay(unsigned long) {}
"""


@needs_cc
@pytest.mark.slow
def test_sketch_compiles_against_tflm_stand_ins_and_prints_a_calibrate_row(results, tmp_path):
    import tuner
    from tuner.estimate import read_measurements

    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    out = tuner.export("pick", "best", tmp_path / "w")
    sk = out / templates.SKETCH
    stub = tmp_path / "stub"
    for h in (
        "Chirale_TensorFlowLite.h",
        "tensorflow/lite/micro/micro_interpreter.h",
        "tensorflow/lite/micro/micro_mutable_op_resolver.h",
        "tensorflow/lite/schema/schema_generated.h",
    ):
        (stub / h).parent.mkdir(parents=True, exist_ok=True)
        (stub / h).write_text(TFLM_STUB if h.endswith("micro_interpreter.h") else '#include "tflm_stub.h"\n')
    (stub / "tflm_stub.h").write_text(TFLM_STUB)
    (stub / "tensorflow/lite/micro/micro_interpreter.h").write_text('#include "../../../tflm_stub.h"\n')
    (tmp_path / "run.cpp").write_text(
        f'#include "{sk / (templates.SKETCH + ".ino")}"\nint main() {{ setup(); loop(); return 0; }}\n'
    )
    exe = tmp_path / "sketch"
    subprocess.run(["gcc", "-std=c99", "-O2", "-c", str(sk / "dsp.c"), "-o", str(tmp_path / "dsp.o")], check=True)
    subprocess.run(
        [
            "g++",
            "-std=gnu++17",
            "-Wall",
            "-DSTUB_CLASS=1",
            "-I",
            str(stub),
            "-I",
            str(sk),
            str(tmp_path / "run.cpp"),
            str(tmp_path / "dsp.o"),
            "-lm",
            "-o",
            str(exe),
        ],
        check=True,
    )
    printed = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    names = json.loads((out / "metrics.json").read_text())["metrics"]["class_names"]
    assert printed.splitlines()[-1] == f"model_int8.tflite,1.500,class={names[1]},dsp_us=1500,invoke_us=1500"
    (sk / "measurements.csv").write_text(printed)
    shutil.copy(out / "model_int8.tflite", sk / "model_int8.tflite")
    assert [ms for _, ms in read_measurements(sk / "measurements.csv")] == [1.5]
