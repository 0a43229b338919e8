"""The generated real FFT against closed-form spectra: a cosine of amplitude A at bin b has
X[b] = A n / 2 and nothing elsewhere; a unit impulse at sample 1 has X[k] = exp(-2 pi i k / n)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from tuner.deploy._c import CUnit, rfft

_WRAP = """\
void run(float *x, float *power)
{
    int k;
    tuner_rfft(x);
    for (k = 0; k <= N / 2; k++) {
        power[k] = tuner_power(x, k);
    }
}
"""


@pytest.fixture(scope="module")
def spectrum(builder):
    """spectrum(x) -> complex X[0..n/2] of the compiled tuner_rfft for len(x) points."""

    def run(x: np.ndarray) -> np.ndarray:
        n = len(x)
        c_file = builder.root / f"rfft{n}.c"
        if not c_file.exists():
            u = CUnit()
            rfft(u, n)
            c_file.write_text("\n\n".join([f"#define N {n}", *u.consts, *u.helpers, _WRAP]))
        buf = np.ascontiguousarray(x, dtype=np.float32)
        power = np.zeros(n // 2 + 1, dtype=np.float32)
        builder.shared(c_file).run(buf.ctypes.data_as(ctypes.c_void_p), power.ctypes.data_as(ctypes.c_void_p))
        spec = np.zeros(n // 2 + 1, dtype=np.complex128)
        spec[0], spec[n // 2] = buf[0], buf[1]  # packed: DC and Nyquist are real
        spec[1 : n // 2] = buf[2:n:2] + 1j * buf[3:n:2]
        np.testing.assert_allclose(power, np.abs(spec) ** 2, rtol=1e-6)  # tuner_power reads the packing
        return spec

    return run


@pytest.mark.parametrize("n", [4, 16, 64, 1024])
def test_cosine_lands_in_its_bin(spectrum, n: int) -> None:
    b = n // 4 + 1 if n > 4 else 1
    t = np.arange(n)
    got = spectrum(3.0 * np.cos(2 * np.pi * b * t / n) + 0.5)
    want = np.zeros(n // 2 + 1, dtype=np.complex128)
    want[b] = 3.0 * n / 2
    want[0] = 0.5 * n  # the offset
    np.testing.assert_allclose(got, want, atol=2e-5 * n)


@pytest.mark.parametrize("n", [8, 32, 256])
def test_impulse_gives_the_twiddles_and_nyquist_alternates(spectrum, n: int) -> None:
    k = np.arange(n // 2 + 1)
    np.testing.assert_allclose(spectrum(np.eye(n)[1]), np.exp(-2j * np.pi * k / n), atol=1e-6)
    alternating = np.where(np.arange(n) % 2, -1.0, 1.0)  # all its energy at n/2
    want = np.zeros(n // 2 + 1)
    want[-1] = n
    np.testing.assert_allclose(spectrum(alternating), want, atol=1e-5)


def test_lengths_other_than_powers_of_two_are_refused() -> None:
    with pytest.raises(ValueError, match="power of two >= 4, got 24"):
        rfft(CUnit(), 24)
