"""C for the audio blocks: Hann frames -> FFT power -> log spectrogram, log mel energies (MFE) or MFCC."""

from __future__ import annotations

from typing import Any

import numpy as np

from tuner.deploy import _c
from tuner.deploy.dsp_c import Parts


def audio(pre: Any) -> Parts:
    n, frame, hop, n_fft, n_frames = pre.n_samples, pre.frame, pre.stride, pre.n_fft, pre.n_frames
    bins = n_fft // 2 + 1
    width = pre.input_shape[1]
    u = _c.CUnit()
    _c.standardize(u, pre.scaler.mean, pre.scaler.std, width)
    u.libm.add("logf")
    u.const_floats("k_win", np.hanning(frame).astype(np.float32), f"Hann window of {frame} points (numpy.hanning)")
    _c.rfft(u, n_fft)
    u.buffer("s_fft", n_fft, "one frame zero-padded to the FFT length, then its packed spectrum")
    power = f"tuner_power(s_fft, k) / (float){n_fft}"
    if pre.block == "spectrogram":
        u.helpers.append(_c.LOG10)
        features = f"""\
        for (k = 0; k < {bins}; k++) {{ /* log10 power per bin */
            model_input[o + k] = tuner_out(tuner_log10({power} + 1e-10f), k);
        }}
"""
    else:
        features = _mel(pre, u, power, bins)
    body = f"""\
    int f, j, k;
    for (f = 0; f < {n_frames}; f++) {{ /* frames of {frame} samples every {hop} */
        const float *x = raw + f * {hop};
        const int o = f * {width};
        for (j = 0; j < {n_fft}; j++) {{
            s_fft[j] = j < {frame} ? x[j] * k_win[j] : 0.0f;
        }}
        tuner_rfft(s_fft);
{features}    }}
"""
    layout = (
        f"window of {n} mono samples at {pre.rate_hz} Hz, floats (int16 / 32767), after the host's mono mix,"
        " resampling and crop to the loudest window"
    )
    return Parts(u, body, n, n_frames * width, layout, f"audio-{pre.block}")


def _mel(pre: Any, u: _c.CUnit, power: str, bins: int) -> str:
    """Triangular mel filters as (first bin, bin count, weights): each filter's non-zero run is contiguous."""
    fb = np.asarray(pre.fb, dtype=np.float32)
    lo, count, weights = [], [], []
    for row in fb:
        nz = np.flatnonzero(row)
        lo.append(int(nz[0]))
        count.append(int(nz[-1] - nz[0] + 1))
        weights.extend(row[nz[0] : nz[-1] + 1].tolist())
    u.const_ints("k_mel_lo", lo, "unsigned short", "first FFT bin of each mel filter")
    u.const_ints("k_mel_n", count, "unsigned short", "bins each mel filter spans")
    u.const_floats("k_mel_w", weights, "mel filter weights, filter after filter (HTK mel, peak 1)")
    u.buffer("s_pow", bins, "power per FFT bin")
    nf = pre.n_filters
    head = f"""\
        for (k = 0; k < {bins}; k++) {{
            s_pow[k] = {power};
        }}
        {{
            const float *w = k_mel_w;
            int m;
            for (m = 0; m < {nf}; m++) {{
                float e = 0.0f;
                for (j = 0; j < k_mel_n[m]; j++) {{
                    e += s_pow[k_mel_lo[m] + j] * w[j];
                }}
                w += k_mel_n[m];
"""
    if pre.block == "mfe":
        u.helpers.append(_c.LOG10)
        return (
            head
            + "                model_input[o + m] = tuner_out(tuner_log10(e + 1e-10f), m);\n            }\n        }\n"
        )
    nc = pre.n_coeffs
    u.const_floats("k_dct", pre.dct, f"orthonormal DCT-II, {nc} x {nf}")
    u.buffer("s_mel", nf, "natural-log mel energies of the frame")
    return (
        head
        + f"""\
                s_mel[m] = logf(e + 1e-10f);
            }}
            for (k = 0; k < {nc}; k++) {{
                float c = 0.0f;
                for (m = 0; m < {nf}; m++) {{
                    c += k_dct[k * {nf} + m] * s_mel[m];
                }}
                model_input[o + k] = tuner_out(c, k);
            }}
        }}
"""
    )
