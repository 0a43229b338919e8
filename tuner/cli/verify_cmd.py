"""`tuner verify NAME|EXPORT_DIR`: the host twin of an exported bundle (tuner.deploy.verify)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from tuner.cli import app


def _lines(r: dict[str, Any]) -> list[str]:
    ok, bad = "[green]ok[/green]", "[red]MISMATCH[/red]"
    acc_ok = abs(r["twin_accuracy"] - r["leaderboard_int8_accuracy"]) <= 0.005 + 1e-9
    in_ok = r["equal_share"] >= 0.999 and r["max_step"] <= 1
    out = [
        f"[bold]verify {r['export_dir']}[/bold] ({r['source']}, {r['target']}, DSP {r['dsp_block']}, "
        f"{r['n_inputs']} test inputs)",
        f"  int8 accuracy  leaderboard {r['leaderboard_int8_accuracy']:.4f}, host twin {r['twin_accuracy']:.4f} "
        f"(C DSP + tflite-micro; numpy DSP: {r['numpy_tflm_accuracy']:.4f})  {ok if acc_ok else bad}",
        f"  int8 inputs    C = numpy on {r['equal_share']:.3%}, max {r['max_step']} step  {ok if in_ok else bad}",
    ]
    c = r["cross"]
    if "text_bytes" in c:
        out.append(
            f"  DSP size       {r['core']} -Os: code {c['text_bytes']:,} B, data {c['data_bytes']:,} B, "
            f"buffers {c['bss_bytes']:,} B; libm: {', '.join(c['undefined']) or 'none'}"
        )
    else:
        out.append(f"  DSP size       not measured ({c.get('note', '')})")
    cost = r["cost_model_dsp_ms"]
    cost_txt = f"{cost:.3f} ms" if cost is not None else "-"
    e = r["emulation"]
    if e:
        core = e["unicorn_model"].removeprefix("UC_CPU_ARM_").replace("CORTEX_", "Cortex-")
        out.append(
            f"  DSP time       {e['instructions']:,} instructions x {e['cpi']:g} = {e['dsp_ms']:.3f} ms at "
            f"{e['clock_hz'] / 1e6:g} MHz (emulated {core}); cost model {cost_txt}"
        )
        if r["latency_ms_with_emulated_dsp"] is not None:
            out.append(
                f"  latency        {r['latency_ms_with_emulated_dsp']:.3f} ms with the emulated DSP "
                f"(sweep estimate with the cost model: {r['estimate_latency_ms']:.3f} ms)"
            )
    else:
        out.append(f"  DSP time       cost model {cost_txt} ({r['emulation_note']})")
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
