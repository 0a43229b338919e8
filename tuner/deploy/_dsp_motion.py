"""C for the motion blocks: raw window, statistics, spectral (Butterworth biquads + Welch FFT), and
statistics + spectral (the two bodies one after the other into one output buffer, Python's feature order)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tuner.deploy import _c
from tuner.deploy.dsp_c import Parts

# Per channel: the moments of x[0..T) (already centred for spectral), as numpy's _moments: float32
# sums in time order, std guarded against 0 for the skewness and kurtosis.
_MOMENTS = """\
        float m2 = 0.0f, m3 = 0.0f, m4 = 0.0f, std, safe, skew, kurt;
        for (t = 0; t < T; t++) {
            const float d = x[t] - mean, d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        std = sqrtf(m2 / (float)T);
        safe = std > 1e-8f ? std : 1.0f;
        skew = (m3 / (float)T) / (safe * safe * safe);
        kurt = (m4 / (float)T) / (safe * safe * safe * safe) - 3.0f;
"""


def motion(pre: Any) -> Parts:
    t, c = pre.length, pre.n_channels
    layout = f"window of {t} samples x {c} channels at {pre.rate_hz:g} Hz, sample-major (interleaved)"
    u = _c.CUnit()
    _c.standardize(u, pre.scaler.mean, pre.scaler.std, pre.input_shape[-1])
    n_std = len(pre.scaler.mean)
    defines = f"    enum {{ T = {t}, C = {c} }};\n"
    if pre.block == "raw":
        body = f"""\
    int i;
    for (i = 0; i < {t * c}; i++) {{
        model_input[i] = tuner_out(raw[i], i % {n_std});
    }}
"""
        return Parts(u, body, t * c, t * c, layout, "motion-raw")
    u.libm.add("sqrtf")
    if pre.block == "stats":
        body = defines + _STATS
        return Parts(u, body, t * c, 7 * c, layout, "motion-stats")
    if pre.block == "stats_spectral":  # statistics of the unfiltered window at 0..7C, then the spectral part
        spec = _spectral(pre, u, layout, "", offset=7 * c)
        body = defines + "    {\n" + _indent(_STATS) + "    }\n    {\n" + _indent(spec.body) + "    }\n"
        return Parts(u, body, t * c, 7 * c + spec.out_len, layout, "motion-stats_spectral")
    return _spectral(pre, u, layout, defines)


def _indent(code: str) -> str:
    return "".join(f"    {line}" if line.strip() else line for line in code.splitlines(keepends=True))


_STATS = """\
    int t, ch;
    for (ch = 0; ch < C; ch++) {
        const float *x = raw + ch; /* x[t * C]: the channel */
        float sum = 0.0f, sq = 0.0f, lo = x[0], hi = x[0], mean;
        for (t = 0; t < T; t++) {
            const float v = x[t * C];
            sum += v;
            sq += v * v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        mean = sum / (float)T;
        {
            float m2 = 0.0f, m3 = 0.0f, m4 = 0.0f, std, safe;
            for (t = 0; t < T; t++) {
                const float d = x[t * C] - mean, d2 = d * d;
                m2 += d2;
                m3 += d2 * d;
                m4 += d2 * d2;
            }
            std = sqrtf(m2 / (float)T);
            safe = std > 1e-8f ? std : 1.0f;
            /* feature order: mean, std, min, max, rms, skewness, kurtosis (stat-major: s * C + ch) */
            model_input[0 * C + ch] = tuner_out(mean, 0 * C + ch);
            model_input[1 * C + ch] = tuner_out(std, 1 * C + ch);
            model_input[2 * C + ch] = tuner_out(lo, 2 * C + ch);
            model_input[3 * C + ch] = tuner_out(hi, 3 * C + ch);
            model_input[4 * C + ch] = tuner_out(sqrtf(sq / (float)T), 4 * C + ch);
            model_input[5 * C + ch] = tuner_out((m3 / (float)T) / (safe * safe * safe), 5 * C + ch);
            model_input[6 * C + ch] = tuner_out((m4 / (float)T) / (safe * safe * safe * safe) - 3.0f, 6 * C + ch);
        }
    }
"""


def _spectral(pre: Any, u: _c.CUnit, layout: str, defines: str, offset: int = 0) -> Parts:
    """The spectral body; its features start at model_input[offset] (after the statistics' in
    stats_spectral)."""
    from tuner.preprocess.motion import band_bins

    t, c, n = pre.length, pre.n_channels, pre.fft_length
    hop = n // 2
    n_frames = len(range(0, t - n + 1, hop))
    if n_frames == 0:
        raise ValueError(f"fft_length {n} is longer than the window ({t} samples)")
    u.libm.add("logf")
    u.helpers.append(_c.LOG10)
    u.const_floats("k_hann", np.hanning(n).astype(np.float32), f"Hann window of {n} points (numpy.hanning)")
    _c.rfft(u, n)
    u.buffer("s_x", t, "one channel of the window: filtered, then centred")
    u.buffer("s_fft", n, "one FFT frame, then its packed spectrum")
    u.buffer("s_pow", n // 2 + 1, "Welch power per bin")
    if pre.edges is not None:
        bands = band_bins(n, pre.rate_hz, pre.edges)
        u.const_ints("k_band_lo", [int(b[0]) for b in bands], "unsigned char", "first FFT bin of each band")
        u.const_ints("k_band_hi", [int(b[-1]) + 1 for b in bands], "unsigned char", "one past the last bin")
        per_axis = len(bands)
        spectrum = f"""\
        for (k = 0; k < {per_axis}; k++) {{ /* power summed over the band's bins */
            float sum = 0.0f;
            for (j = k_band_lo[k]; j < k_band_hi[k]; j++) {{
                sum += s_pow[j];
            }}
            model_input[o + 3 + k] = tuner_out(tuner_log10(sum + 1e-10f), o + 3 + k);
        }}
"""
    else:
        per_axis = n // 2
        spectrum = f"""\
        for (k = 1; k <= {per_axis}; k++) {{ /* bins 1..n/2: the mean is removed, DC dropped */
            model_input[o + 2 + k] = tuner_out(tuner_log10(s_pow[k] + 1e-10f), o + 2 + k);
        }}
"""
    filt = ""
    if pre.sos is not None:
        u.const_floats("k_sos", np.asarray(pre.sos)[:, [0, 1, 2, 4, 5]], "Butterworth biquads: b0 b1 b2 a1 a2 (a0 = 1)")
        filt = f"""\
        {{ /* remove the window mean, then the Butterworth biquads (direct form II transposed, zero state) */
            float total = 0.0f, m;
            int s;
            for (t = 0; t < T; t++) {{
                total += x[t];
            }}
            m = total / (float)T;
            for (t = 0; t < T; t++) {{
                x[t] -= m;
            }}
            for (s = 0; s < {len(pre.sos)}; s++) {{
                const float *q = k_sos + 5 * s;
                float z0 = 0.0f, z1 = 0.0f;
                for (t = 0; t < T; t++) {{
                    const float in = x[t], y = q[0] * in + z0;
                    z0 = q[1] * in - q[3] * y + z1;
                    z1 = q[2] * in - q[4] * y;
                    x[t] = y;
                }}
            }}
        }}
"""
    body = (
        defines
        + f"""\
    float *x = s_x;
    int t, ch, j, k, f;
    for (ch = 0; ch < C; ch++) {{
        /* channel-major: std, skew, kurt, then the spectrum */
        const int o = {f"{offset} + " if offset else ""}ch * {3 + per_axis};
        float sum = 0.0f, mean;
        for (t = 0; t < T; t++) {{
            x[t] = raw[t * C + ch];
        }}
{filt}        for (t = 0; t < T; t++) {{
            sum += x[t];
        }}
        mean = sum / (float)T;
        {{
{_MOMENTS}            model_input[o + 0] = tuner_out(std, o + 0);
            model_input[o + 1] = tuner_out(skew, o + 1);
            model_input[o + 2] = tuner_out(kurt, o + 2);
        }}
        for (t = 0; t < T; t++) {{
            x[t] -= mean;
        }}
        for (f = 0; f < {n_frames}; f++) {{ /* Welch: Hann frames of {n}, hop {hop} */
            for (j = 0; j < {n}; j++) {{
                s_fft[j] = x[f * {hop} + j] * k_hann[j];
            }}
            tuner_rfft(s_fft);
            for (k = 0; k <= {n // 2}; k++) {{ /* the first frame sets: no zeroing loop (gcc -Os makes it a memset) */
                s_pow[k] = f ? s_pow[k] + tuner_power(s_fft, k) : tuner_power(s_fft, k);
            }}
        }}
        for (k = 0; k <= {n // 2}; k++) {{
            s_pow[k] /= (float){n_frames};
        }}
{spectrum}    }}
"""
    )
    return Parts(u, body, t * c, c * (3 + per_axis), layout, "motion-spectral")
