"""The DSP's measured figures as (label, value) rows, shared by `tuner show` and the HTML report.

Read from the trial folder's deploy.json: `tuner export` writes the block, its buffer bytes and the
cross-compiled size; `tuner verify` adds the emulated instruction count and the host-twin result.
"""

from __future__ import annotations

from typing import Any


def dsp_rows(deploy: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows for a trial's deploy.json (empty dict: one row saying how to get the figures)."""
    if not deploy:
        return [("DSP on the device", "not measured yet: `tuner export` (size), `tuner verify` (emulated time)")]
    rows = [
        ("DSP block", str(deploy.get("dsp_block", "-"))),
        (
            "DSP static buffers B",
            f"{deploy.get('dsp_buffer_bytes', 0):,} (TUNER_DSP_BUFFER_BYTES; cost model counted "
            f"{deploy.get('cost_model_dsp_ram_bytes') or 0:,})",
        ),
    ]
    c = deploy.get("cross") or {}
    if "text_bytes" in c:
        rows.append(
            (
                f"DSP code B ({c['core']}, -Os)",
                f"{c['text_bytes']:,} code+constants, {c['data_bytes']:,} data (arm-none-eabi-size)",
            )
        )
    else:
        rows.append(("DSP code B", f"not measured ({c.get('note', 'no cross-compile')})"))
    e = deploy.get("emulation")
    cost = deploy.get("cost_model_dsp_ms")
    cost_txt = f"{cost:.3f}" if cost is not None else "-"
    if e:
        rows.append(
            (
                "DSP ms emulated (cost model)",
                f"{e['dsp_ms']:.3f} ({e['instructions']:,} instructions x {e['cpi']:g} cycles) ({cost_txt})",
            )
        )
    v = deploy.get("verify")
    if v:
        verdict = "PASS" if v.get("ok") else f"FAILED at {v.get('stage')}"
        rows.append(
            (
                "host twin accuracy (leaderboard)",
                f"{v['twin_accuracy']:.4f} ({v['leaderboard_int8_accuracy']:.4f}), inputs {v['equal_share']:.3%} "
                f"equal: {verdict}",
            )
        )
    return rows
