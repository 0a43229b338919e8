"""C for the image block: bilinear resize (half-pixel centres), colour conversion, scaling to [0, 1].

The same float32 operations in the same order as numpy (lerp = a + f * (b - a)), so the C output is
bit-equal to numpy's and the int8 inputs are identical.
"""

from __future__ import annotations

from typing import Any

from tuner.deploy import _c
from tuner.deploy.dsp_c import Parts
from tuner.preprocess.image import GRAY_WEIGHTS


def image(pre: Any) -> Parts:
    from tuner.preprocess.image import bilinear_axis  # the block's own source coordinates: one rule, not two

    h, w, cs = pre.source_shape
    r = pre.resolution
    co = pre.input_shape[2]
    u = _c.CUnit()
    u.helpers.append(_c.QUANTIZE)
    if (h, w) != (r, r):
        y0, y1, fy = bilinear_axis(h, r)
        x0, x1, fx = bilinear_axis(w, r)
        u.const_ints("k_y0", y0, "unsigned short", "source row above each output row")
        u.const_ints("k_y1", y1, "unsigned short", "source row below")
        u.const_floats("k_fy", fy, "weight of the row below")
        u.const_ints("k_x0", x0, "unsigned short", "source column left of each output column")
        u.const_ints("k_x1", x1, "unsigned short", "source column right")
        u.const_floats("k_fx", fx, "weight of the right column")
        pixel = f"""\
            float v[{cs}];
            for (c = 0; c < {cs}; c++) {{ /* bilinear: two horizontal lerps, one vertical */
                const float *p = raw + c, fx = k_fx[ox];
                const float a = p[(k_y0[oy] * {w} + k_x0[ox]) * {cs}], b = p[(k_y0[oy] * {w} + k_x1[ox]) * {cs}];
                const float d = p[(k_y1[oy] * {w} + k_x0[ox]) * {cs}], e = p[(k_y1[oy] * {w} + k_x1[ox]) * {cs}];
                const float top = a + fx * (b - a), bot = d + fx * (e - d);
                v[c] = top + k_fy[oy] * (bot - top);
            }}
"""
    else:
        pixel = f"            const float *v = raw + (oy * {w} + ox) * {cs}; /* no resize: the sizes match */\n"
    out = f"model_input[(oy * {r} + ox) * {co}"
    if co == 1 and cs == 3:
        g0, g1, g2 = (_c.f32(g) for g in GRAY_WEIGHTS)
        color = (
            f"            {out}] = tuner_quantize((v[0] * {g0} + v[1] * {g1} + v[2] * {g2}) / 255.0f); /* BT.601 */\n"
        )
    elif co == 3 and cs == 1:
        color = f"""\
            const int8_t q = tuner_quantize(v[0] / 255.0f); /* grey to RGB: replicated */
            {out}] = q;
            {out} + 1] = q;
            {out} + 2] = q;
"""
    else:
        color = f"""\
            for (c = 0; c < {co}; c++) {{
                {out} + c] = tuner_quantize(v[c] / 255.0f);
            }}
"""
    body = f"""\
    int oy, ox, c;
    (void)c;
    for (oy = 0; oy < {r}; oy++) {{
        for (ox = 0; ox < {r}; ox++) {{
{pixel}{color}        }}
    }}
"""
    layout = f"image of {h}x{w} pixels x {cs} channel(s), row-major HWC, values 0..255 as floats"
    return Parts(u, body, h * w * cs, r * r * co, layout, f"image-{r}x{r}-{pre.color}")
