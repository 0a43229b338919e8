"""C text helpers shared by the DSP generators: float32 literals, const tables, static buffers, the FFT.

Everything is float (single precision): a Cortex-M4F has a single-precision FPU only, and a double
would pull in the soft-float library (`__aeabi_d*`), which the undefined-symbol test forbids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


def f32(x: float) -> str:
    """A C float literal that reads back as exactly np.float32(x) (9 significant digits round-trip)."""
    v = float(np.float32(x))
    if not np.isfinite(v):
        raise ValueError(f"a generated C constant must be finite, got {x}")
    s = f"{v:.9g}"
    if "." not in s and "e" not in s and "n" not in s:
        s += ".0"
    return s + "f"


def _rows(items: list[str], per_line: int) -> str:
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(lines)


@dataclass
class CUnit:
    """Collects the file-scope parts of dsp.c: constant tables (flash), static buffers (RAM), helpers."""

    consts: list[str] = field(default_factory=list)
    buffers: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    buffer_bytes: int = 0
    libm: set[str] = field(default_factory=set)

    def const_floats(self, name: str, values: Iterable[float], why: str) -> None:
        items = [f32(v) for v in np.asarray(list(values), dtype=np.float64).ravel()]
        self.consts.append(f"/* {why} */\nstatic const float {name}[{len(items)}] = {{\n    {_rows(items, 6)}\n}};")

    def const_ints(self, name: str, values: Iterable[int], ctype: str, why: str) -> None:
        items = [str(int(v)) for v in values]
        self.consts.append(f"/* {why} */\nstatic const {ctype} {name}[{len(items)}] = {{\n    {_rows(items, 16)}\n}};")

    def buffer(self, name: str, n_floats: int, why: str) -> None:
        self.buffers.append(f"static float {name}[{n_floats}]; /* {why} */")
        self.buffer_bytes += 4 * n_floats


# Round half to even as numpy.round: adding and removing 1.5 * 2^23 leaves the float rounded to an
# integer in the current (default: to nearest, ties to even) mode. `volatile` keeps the sum a float
# where the compiler would otherwise keep extra precision (x87). No libm call.
QUANTIZE = """\
/* The int8 input quantization of the model, as numpy: clip(round(x / scale + zero_point), -128, 127). */
static int8_t tuner_quantize(float x)
{
    volatile float v = x / TUNER_INPUT_SCALE + (float)TUNER_INPUT_ZERO_POINT;
    if (!(v > -128.0f)) {
        return -128; /* also NaN */
    }
    if (v >= 127.0f) {
        return 127;
    }
    v = v + 12582912.0f;
    v = v - 12582912.0f;
    return (int8_t)v;
}"""


def standardize(unit: CUnit, mean: np.ndarray | None, std: np.ndarray | None, n_features: int) -> None:
    """The fitted per-feature standardizer ((f - mean) / std, as numpy) followed by the quantization."""
    if mean is None or std is None:
        raise ValueError("the preprocessor is not fitted: fit() it on the training split or load_state() first")
    if not len(mean) == len(std) == n_features:
        raise ValueError(f"the standardizer has {len(mean)} means and {len(std)} stds for {n_features} features")
    unit.const_floats("k_mean", mean, "standardizer mean per feature (training split)")
    unit.const_floats("k_std", std, "standardizer std per feature (training split, >= 1e-6)")
    unit.helpers.append(QUANTIZE)
    unit.helpers.append(
        "static int8_t tuner_out(float f, int k)\n{\n    return tuner_quantize((f - k_mean[k]) / k_std[k]);\n}"
    )


def rfft(unit: CUnit, n: int) -> None:
    """`tuner_rfft`: the spectrum of `n` real samples, in place, through an n/2-point complex FFT and
    the usual split step (half the work and half the buffer of a complex FFT with zero imaginary parts).
    Packed output: x[0] = X[0], x[1] = X[n/2] (both real), x[2k], x[2k + 1] = Re, Im X[k] for 0 < k < n/2."""
    if n < 4 or n & (n - 1):
        raise ValueError(f"the FFT length must be a power of two >= 4, got {n}")
    h = n // 2
    k = np.arange(h)
    w = np.stack([np.cos(2 * np.pi * k / n), -np.sin(2 * np.pi * k / n)], 1)
    w[np.abs(w) < 1e-12] = 0.0  # cos(pi / 2) is 6e-17 in floating point: make it the exact 0
    unit.const_floats("k_twiddle", w, f"exp(-2 pi i k / {n}), k < {h}")
    unit.helpers.append(
        f"""\
/* In-place radix-2 decimation-in-time FFT of {h} complex points stored re, im, re, im, ... */
static void tuner_fft(float *x)
{{
    int i, j = 0, k, len;
    for (i = 0; i < {h} - 1; i++) {{ /* bit-reversal permutation */
        if (i < j) {{
            const float re = x[2 * i], im = x[2 * i + 1];
            x[2 * i] = x[2 * j];
            x[2 * i + 1] = x[2 * j + 1];
            x[2 * j] = re;
            x[2 * j + 1] = im;
        }}
        k = {h} >> 1;
        while (k <= j) {{
            j -= k;
            k >>= 1;
        }}
        j += k;
    }}
    for (len = 2; len <= {h}; len <<= 1) {{
        const int half = len >> 1, step = {n} / len; /* exp(-2 pi i k / len) = k_twiddle[k * step] */
        for (i = 0; i < {h}; i += len) {{
            for (k = 0; k < half; k++) {{
                const float wr = k_twiddle[2 * k * step], wi = k_twiddle[2 * k * step + 1];
                float *a = x + 2 * (i + k), *b = a + 2 * half;
                const float tr = b[0] * wr - b[1] * wi, ti = b[0] * wi + b[1] * wr;
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }}
        }}
    }}
}}

/* Spectrum of {n} real samples in place: z[j] = x[2j] + i x[2j + 1] through the {h}-point FFT, then
 * X[k] = E + W^k O and X[{h} - k] = conj(E - W^k O) with E = (Z[k] + conj(Z[{h} - k])) / 2,
 * O = (Z[k] - conj(Z[{h} - k])) / 2i, W = exp(-2 pi i / {n}). */
static void tuner_rfft(float *x)
{{
    int k;
    tuner_fft(x);
    {{
        const float r0 = x[0], i0 = x[1];
        x[0] = r0 + i0; /* X[0] */
        x[1] = r0 - i0; /* X[{h}] */
    }}
    for (k = 1; k <= {h // 2}; k++) {{
        const int m = {h} - k;
        const float zr = x[2 * k], zi = x[2 * k + 1], yr = x[2 * m], yi = x[2 * m + 1];
        const float er = 0.5f * (zr + yr), ei = 0.5f * (zi - yi), or_ = 0.5f * (zi + yi), oi = -0.5f * (zr - yr);
        const float wr = k_twiddle[2 * k], wi = k_twiddle[2 * k + 1];
        const float tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
        x[2 * k] = er + tr;
        x[2 * k + 1] = ei + ti;
        x[2 * m] = er - tr;
        x[2 * m + 1] = ti - ei;
    }}
}}

/* |X[k]|^2 of the packed spectrum of tuner_rfft. */
static float tuner_power(const float *x, int k)
{{
    if (k == 0) {{
        return x[0] * x[0];
    }}
    if (k == {h}) {{
        return x[1] * x[1];
    }}
    return x[2 * k] * x[2 * k] + x[2 * k + 1] * x[2 * k + 1];
}}"""
    )


LOG10 = """\
/* log10 through logf: one libm function instead of two. */
static float tuner_log10(float x)
{
    return logf(x) * 0.434294482f;
}"""
