"""`tuner verify NAME|EXPORT_DIR`: the host twin of an exported bundle (tuner.deploy.verify)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from tuner.cli import app


def _lines(r: dict[str, Any]) -> list[str]:
    ok = "[green]ok[/green]"
    bad = "[red]MISMATCH[/red]"
    acc_ok = abs(r["twin_accuracy"] - r["leaderboard_int8_accuracy"]) <= 0.005 + 1e-9
    out = [
        f"[bold]verify {r['export_dir']}[/bold] ({r['source']}, target {r['target']}, DSP {r['dsp_block']})",
        f"  int8 accuracy: leaderboard {r['leaderboard_int8_accuracy']:.4f}, host twin {r['twin_accuracy']:.4f} "
        f"(C DSP + tflite-micro on {r['n_inputs']} test inputs; numpy DSP + tflite-micro "
        f"{r['numpy_tflm_accuracy']:.4f})  {ok if acc_ok else bad}",
        f"  int8 model inputs C vs numpy: {r['equal_share']:.3%} equal, max {r['max_step']} step(s)  "
        f"{ok if r['equal_share'] >= 0.999 and r['max_step'] <= 1 else bad}",
    ]
    c = r["cross"]
    if "text_bytes" in c:
        libm = ", ".join(c["undefined"]) or "none"
        out.append(
            f"  DSP on {r['core']} (arm-none-eabi-gcc -Os): code {c['text_bytes']:,} B, data {c['data_bytes']:,} B, "
            f"static buffers {c['bss_bytes']:,} B (TUNER_DSP_BUFFER_BYTES {r['dsp_buffer_bytes']:,}); libm: {libm}"
        )
    else:
        out.append(f"  DSP size on {r['core']}: not measured ({c.get('note', '')})")
    cost = r["cost_model_dsp_ms"]
    cost_txt = f"{cost:.3f} ms" if cost is not None else "-"
    e = r["emulation"]
    if e:
        out.append(
            f"  DSP emulated ({e['unicorn_model'].removeprefix('UC_CPU_ARM_')}): {e['instructions']:,} instructions "
            f"x {e['cpi']:g} cycles = {e['dsp_ms']:.3f} ms at {e['clock_hz'] / 1e6:g} MHz "
            f"(old per-operation cost model: {cost_txt}); output vs host C: max {e['max_step_vs_host']} step(s)"
        )
    else:
        out.append(f"  DSP time: per-operation cost model {cost_txt} ({r['emulation_note']})")
    if r["stage"]:
        out.append(f"[red]FAILED at stage {r['stage']}: {r['reason']}[/red]")
    else:
        out.append("[green]PASS[/green]: the bundle gives the leaderboard's int8 accuracy")
    return out


@app.command("verify")
def verify_cmd(
    ref: Annotated[str, typer.Argument(help="export folder (tuner export --out DIR) or a sweep name (its best trial)")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of text")] = False,
) -> None:
    """Host twin: build dsp.c + main.c, feed the raw test split, run the C int8 inputs through tflite-micro and
    compare with the leaderboard's int8 accuracy; cross-compile and emulate the DSP on the target's core.
    Exit 1 names the first mismatching stage (DSP, quantization, network)."""
    from tuner.api import verify
    from tuner.cli._display import console

    with console.status("verifying: building the C DSP, running the test split..."):
        r = verify(ref).to_dict()
    if as_json:
        typer.echo(json.dumps(r, indent=1, default=str))
    else:
        for line in _lines(r):
            console.print(line, highlight=False)
    if not r["ok"]:
        sys.exit(1)  # click's non-standalone mode would swallow typer.Exit's code
