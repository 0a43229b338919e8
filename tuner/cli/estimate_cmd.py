"""`tuner estimate`, `tuner targets`, `tuner calibrate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tuner.cli import app
from tuner.errors import InputError

_CONFIG_SUFFIXES = (".yaml", ".yml")


def _model_and_dsp(path: Path):
    """The .tflite bytes to estimate, and the DSP cost when a config is given."""
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    if path.suffix.lower() in _CONFIG_SUFFIXES:
        try:
            from tuner.pipeline import build_untrained_int8
        except ImportError:
            raise InputError("estimating a CONFIG.yaml needs the sweep pipeline; pass a .tflite") from None
        return build_untrained_int8(path)
    return path.read_bytes(), None


def _config_target(path: Path) -> str | None:
    """The `target:` of a candidate/export config, if `path` is one."""
    if path.suffix.lower() not in _CONFIG_SUFFIXES or not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return None
    t = data.get("target") if isinstance(data, dict) else None
    return t if isinstance(t, str) and t else None


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} kB"


@app.command("estimate")
def estimate_cmd(
    model: Annotated[Path, typer.Argument(help="int8 .tflite model, or a candidate/export config.yaml")],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            "-t",
            help="target board id (see `tuner targets`) or path to a target YAML "
            "[default: the config's target, else nano33ble]",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")] = False,
    fast: Annotated[bool, typer.Option("--fast", help="analytical arena (no tflite-micro run)")] = False,
) -> None:
    """Estimate latency (with band), RAM and flash of a model on a target, per layer."""
    from tuner.estimate import estimate_tflite
    from tuner.targets import DEFAULT_TARGET, load_target

    tgt = load_target(target or _config_target(model) or DEFAULT_TARGET)
    buf, dsp = _model_and_dsp(model)
    est = estimate_tflite(buf, tgt, dsp=dsp, exact=not fast)
    if json_out:
        typer.echo(json.dumps(est.to_dict(), indent=1))
        return
    from rich.markup import escape
    from rich.table import Table

    from tuner.cli._display import console

    t = Table(
        title=f"{model.name} on {tgt.name} ({tgt.id}, {tgt.core} {tgt.clock_mhz:g} MHz, {tgt.kernels})",
        header_style="bold",
    )
    for c, j in (
        ("#", "right"),
        ("op", "left"),
        ("output", "left"),
        ("MACs", "right"),
        ("est. cycles", "right"),
        ("ms", "right"),
        ("scratch B", "right"),
        ("note", "left"),
    ):
        t.add_column(c, justify=j)
    for layer in est.layers:
        t.add_row(
            str(layer.index),
            layer.op,
            "x".join(map(str, layer.output_shape)),
            f"{layer.macs:,}",
            f"{layer.cycles:,.0f}",
            f"{layer.latency_ms:.3f}",
            f"{layer.scratch_bytes:,}",
            escape(layer.note),
        )
    console.print(t)
    s = Table(show_header=False, box=None)
    s.add_column(justify="left", style="bold")
    s.add_column(justify="left")
    s.add_row("MACs", f"{est.macs:,}")
    lat = f"{est.latency_ms:.2f} ms (band {est.latency_ms_low:.2f} .. {est.latency_ms_high:.2f} ms)"
    if est.dsp_latency_ms:
        lat += f", of which DSP {est.dsp_latency_ms:.2f} ms"
        if tgt.dsp_band_low is not None and tgt.dsp_band_high is not None:
            lat += f" (x{tgt.dsp_band_low:g} .. x{tgt.dsp_band_high:g})"
    s.add_row("latency", lat)
    s.add_row("naive baseline", f"{est.naive_latency_ms:.2f} ms (one cycles-per-MAC constant)")
    s.add_row(
        "RAM",
        f"{_kb(est.ram_bytes)} = arena {est.arena_bytes:,} B ({est.arena_method}) + scratch "
        f"{est.scratch_bytes:,} B + runtime {est.runtime_ram_bytes:,} B + DSP {est.dsp_ram_bytes:,} B"
        f"; board has {_kb(tgt.ram_bytes)}",
    )
    s.add_row(
        "flash",
        f"{_kb(est.flash_bytes)} = model {est.model_bytes:,} B + framework and kernels"
        f"; board has {_kb(tgt.flash_bytes)}",
    )

    for n in est.notes:
        s.add_row("note", escape(n))
    s.add_row("method", escape(est.method))
    console.print(s)


@app.command("targets")
def targets_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the bundled target boards: core, clock, RAM, flash, kernel family, latency band."""
    from tuner.targets import DEFAULT_TARGET, list_targets

    targets = list_targets()
    if json_out:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in targets], indent=1))
        return
    from rich import box
    from rich.table import Table

    from tuner.cli._display import console, print_table

    t = Table(
        title="Targets",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        caption="+ default target. latency: calibrated = fitted on this board's own measurements, transferred = "
        "scale borrowed from measured boards of the same kernel path. band: the true latency lies within estimate "
        "x low .. x high for 80% of held-out rows (split-conformal: leave-one-model-out residuals for calibrated "
        "boards, where the band also depends on the model and its median over the reference models is shown; "
        "leave-one-board-out for transferred ones)",
    )
    for c in ("id", "core", "MHz", "RAM kB", "flash kB", "kernels", "latency", "band"):
        t.add_column(c, justify="right" if c in ("MHz", "RAM kB", "flash kB") else "left", no_wrap=True)
    for x in targets:
        t.add_row(
            x.id + ("+" if x.id == DEFAULT_TARGET else ""),
            x.core.removeprefix("cortex-"),
            f"{x.clock_mhz:g}",
            f"{x.ram_bytes // 1024:,}",
            f"{x.flash_bytes // 1024:,}",
            x.kernels,
            "calibrated" if x.latency.calibrated else "transferred",
            f"x{x.latency.band_low:.2f} .. x{x.latency.band_high:.2f}",
        )
    print_table(console, t)


@app.command("calibrate")
def calibrate_cmd(
    measurements: Annotated[Path, typer.Argument(help="CSV with rows 'model_path,latency_ms' (header optional)")],
    target: Annotated[
        str,
        typer.Option(
            "--target",
            "-t",
            help="base target id or YAML: kernel family, core, memory and prior coefficients",
        ),
    ] = "nano33ble",
    out: Annotated[Path, typer.Option("--out", "-o", help="where to write the fitted target YAML")] = Path(
        "my-board.yaml"
    ),
    board_id: Annotated[
        str | None, typer.Option("--id", help="id of the new profile (default: --out file name)")
    ] = None,
    clock_hz: Annotated[
        int | None,
        typer.Option(
            "--clock-hz", help="clock the measurements ran at, in hertz (default: the base target's)", min=1
        ),  # 0 was taken for "not given"
    ] = None,
) -> None:
    """Fit a target profile to your own latency measurements; pass the YAML to --target."""
    import re

    from tuner.estimate import calibrate, read_measurements
    from tuner.targets import dump_target, load_target

    base = load_target(target)
    new_id = board_id or re.sub(r"[^a-z0-9._-]+", "-", out.stem.lower()).strip("-") or "my-board"
    prof, report = calibrate(base, read_measurements(measurements), new_id, clock_hz)
    from tuner.files import write_atomic, writing

    with writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, dump_target(prof))
    from rich.table import Table

    from tuner.cli._display import console

    t = Table(title=f"Calibration of {new_id} (base {base.id})", header_style="bold")
    for c in ("model", "MACs", "measured ms", "fitted ms", "left-out ms"):
        t.add_column(c, justify="left" if c == "model" else "right")
    for r in report:
        t.add_row(
            Path(r.model).name,
            f"{r.macs:,}",
            f"{r.measured_ms:.2f}",
            f"{r.fitted_ms:.2f}",
            "-" if r.loo_ms is None else f"{r.loo_ms:.2f}",
        )
    console.print(t)
    console.print(
        f"band x{prof.latency.band_low:g} .. x{prof.latency.band_high:g} (median over the reference models; "
        f"each estimate gets its own); wrote {out} "
        f"(use: tuner estimate MODEL.tflite --target {out})"
    )
