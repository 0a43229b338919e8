"""Cross-compiled objects and the unicorn emulator, on small hand-written C whose results are known."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from tuner.deploy.cross import cross_compile, toolchain_missing
from tuner.deploy.emulate import link_program, run_program, timing
from tuner.errors import InputError

pytestmark = pytest.mark.skipif(
    toolchain_missing() is not None or not shutil.which("arm-none-eabi-objcopy"),
    reason="needs gcc-arm-none-eabi and libnewlib-arm-none-eabi (the README test command installs them)",
)

# raw[0] = loop count; out[0] = sum of raw[1..n] (exact in float for small integers),
# out[1] = round(10 * ln(raw[1])) through newlib's logf.
KERNEL = """
#include <math.h>
#include <stdint.h>
static float acc[4];
int tuner_dsp(const float *raw, int8_t *out) {
    int n = (int)raw[0];
    acc[0] = 0.0f;
    for (int i = 1; i <= n; i++) acc[0] += raw[i];
    out[0] = (int8_t)acc[0];
    out[1] = (int8_t)roundf(10.0f * logf(raw[1]));
    return n > 0 ? 0 : -3;
}
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    d = tmp_path_factory.mktemp("kernel")
    (d / "k.c").write_text(KERNEL)
    return d / "k.c"


def _raw(n: int) -> np.ndarray:
    return np.array([n] + [2.0] * 60, dtype=np.float32)


@pytest.mark.parametrize("core", ["cortex-m4f", "cortex-m0plus", "cortex-m7", "cortex-m33"])
def test_emulated_output_equals_numpy(kernel, tmp_path, core):
    prog = link_program(kernel, core, tmp_path)
    n, out, rc = run_program(prog, _raw(7), 2)
    assert rc == 0
    assert out.tolist() == [14, round(10 * math.log(2.0))]  # 7 * 2.0; 10 ln 2 = 6.93 -> 7
    assert n > 7 * 3  # at least a load, an add and a branch per iteration


def test_return_code_is_passed_through(kernel, tmp_path):
    prog = link_program(kernel, "cortex-m4f", tmp_path)
    assert run_program(prog, _raw(0), 2)[2] == -3


def test_block_count_equals_per_instruction_count(kernel, tmp_path):
    prog = link_program(kernel, "cortex-m4f", tmp_path)
    fast = run_program(prog, _raw(20), 2)[0]
    slow = run_program(prog, _raw(20), 2, per_instruction=True)[0]
    # GCC 12 -Os ends this kernel with `ite le; mvnle; movgt`: the instruction whose condition fails is
    # skipped by unicorn's code hook but still issued by the core (one cycle), and counted per block.
    assert fast == slow + 1
    assert run_program(prog, _raw(20), 2)[0] == fast  # a second run counts the same


def test_count_is_linear_in_the_loop_length(kernel, tmp_path):
    prog = link_program(kernel, "cortex-m4f", tmp_path)
    c = [run_program(prog, _raw(k), 2)[0] for k in (10, 20, 30)]
    assert c[1] - c[0] == c[2] - c[1] > 0


def test_object_sizes_and_undefined_symbols(kernel, tmp_path):
    m4 = cross_compile(kernel, "cortex-m4f", tmp_path)
    assert set(m4.undefined) == {"logf", "roundf"} and m4.runtime == ()
    assert m4.bss_bytes == 16 and m4.text_bytes > 0  # acc[4] floats
    m0 = cross_compile(kernel, "cortex-m0plus", tmp_path)  # soft float: libgcc helpers, kept apart from libm
    assert set(m0.undefined) == {"logf", "roundf"}
    assert any(s.startswith("__aeabi_f") for s in m0.runtime)


def test_timing_uses_the_cores_cycles_per_instruction():
    t = timing("cortex-m4f", 64_000, 64_000_000)
    assert t.cycles == pytest.approx(64_000 * t.cpi) and t.dsp_ms == pytest.approx(t.cpi)
    assert "DDI 0439" in t.cpi_source


def test_cores_without_a_model_are_refused(kernel, tmp_path):
    with pytest.raises(InputError, match="core 'cortex-m55' has no emulator model"):
        link_program(kernel, "cortex-m55", tmp_path)
    with pytest.raises(InputError, match="core 'xtensa-lx7' is not an Arm Cortex-M core"):
        cross_compile(kernel, "xtensa-lx7", tmp_path)


# --- the generated DSP of real fitted blocks (tuner.deploy.dsp_c) -------------------------------------


@pytest.fixture(scope="module")
def motion_data():
    from tuner.data import load_data, split

    train, _, test = split(load_data("seglearn-watch", domain="motion"), seed=0)
    return train, test


def _generated(tmp_path, data, params: dict):
    """Fit the block on the train split, write its dsp.c/dsp.h and main.c; return (folder, source, raws)."""
    from tuner.deploy.dsp_c import generate_dsp, raw_windows
    from tuner.deploy.templates import MAIN_C
    from tuner.preprocess import build_preprocessor

    train, test = data
    tmp_path.mkdir(parents=True, exist_ok=True)
    pre = build_preprocessor(params, train)
    pre.fit(train)
    src = generate_dsp(pre, 0.05, -3)
    (tmp_path / "dsp.h").write_text(src.header)
    (tmp_path / "dsp.c").write_text(src.source)
    (tmp_path / "main.c").write_text(MAIN_C)
    return tmp_path, src, raw_windows(pre, test)


MOTION_BLOCKS = [
    {"dsp": "raw", "window_ms": 1000},
    {"dsp": "stats", "window_ms": 2000},
    {"dsp": "spectral", "window_ms": 2000, "fft_length": 32, "filter": "lowpass", "filter_cutoff_hz": 5},
    {"dsp": "spectral", "window_ms": 1000, "fft_length": 16, "filter": "highpass", "spectrum": "power_edges"},
    {"dsp": "stats_spectral", "window_ms": 1000, "fft_length": 16, "filter": "lowpass", "filter_cutoff_hz": 5},
]


@pytest.mark.parametrize("params", MOTION_BLOCKS, ids=lambda p: "-".join(str(v) for v in p.values()))
def test_generated_dsp_emulated_equals_host_and_needs_only_its_libm(tmp_path, motion_data, params):
    from tuner.deploy.verify import host_inputs

    folder, src, raws = _generated(tmp_path, motion_data, {"stride_ms": 1000, **params})
    host = host_inputs(folder, raws[:3], src.out_len, tmp_path)
    prog = link_program(folder / "dsp.c", "cortex-m4f", tmp_path / "emu")
    for i in range(3):
        n, out, rc = run_program(prog, raws[i], src.out_len)
        assert rc == 0 and out.tolist() == host[i].tolist()
        assert n > src.raw_len  # every raw value is read at least once
    build = cross_compile(folder / "dsp.c", "cortex-m4f", tmp_path)
    assert set(build.undefined) <= set(src.libm) and build.runtime == ()
    assert build.bss_bytes == src.buffer_bytes


@pytest.mark.parametrize("block", ["raw", "stats"])
def test_instruction_count_grows_linearly_with_the_window(tmp_path, motion_data, block):
    counts = []
    for ms in (1000, 2000, 3000):
        folder, src, raws = _generated(tmp_path / str(ms), motion_data, {"dsp": block, "window_ms": ms})
        prog = link_program(folder / "dsp.c", "cortex-m4f", folder)
        counts.append(run_program(prog, raws[0], src.out_len)[0])
    # each extra second (50 samples x 6 axes) costs the same; only data-dependent branches (min/max updates,
    # clipping) differ between the windows
    first, second = counts[1] - counts[0], counts[2] - counts[1]
    assert first > 300 and abs(second - first) <= 0.02 * first
