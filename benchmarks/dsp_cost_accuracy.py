"""How well the DSP cost model prices the generated C: op counts x cycles per op vs emulated cycles.

For every configuration of benchmarks/_dsp_grid.py (motion raw/stats/spectral, audio spectrogram/MFE/MFCC,
image resize/colour, tabular, at small/medium/large settings of the bundled search spaces) the generated
dsp.c is compiled with arm-none-eabi-gcc -Os for each core unicorn can emulate (tuner/deploy/cores.yaml),
run once on a window, and its instructions x the core's cycles per instruction compared with:
- old: the op counts and per-op table shipped before the recalibration (targets/*.yaml until issue 10);
- fit: the shipped table (fitted on all rows of the core, in sample);
- LOBO: a table fitted without the configuration's block (leave-one-block-out, out of sample);
- LOGO: a table fitted without the configuration's size group S/M/L (leave-one-config-group-out).
Ratios are model / emulated (1.00 = exact); the band is that of the shipped target profiles.

    python benchmarks/dsp_cost_accuracy.py            # emulate the grid now (needs gcc-arm-none-eabi), print
    python benchmarks/dsp_cost_accuracy.py --shipped  # print from tuner/_data/calibration/dsp_emulated.csv
    python benchmarks/dsp_cost_accuracy.py --write    # emulate and rewrite that CSV (then regenerate targets:
                                                      #   python -m tuner.estimate._profiles)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dsp_grid import GRID, build, emulate  # noqa: E402

from tuner.estimate import _dsp_fit as F  # noqa: E402

COLUMNS = (
    "block",
    "group",
    "core",
    "config",
    "instructions",
    "cpi",
    "cpi_low",
    "cpi_high",
    "ops",
    "old_model_cycles",
)


def gather(old: dict[str, float]) -> list[F.Row]:
    from tuner.deploy.cross import known_cores
    from tuner.deploy.emulate import emulated_cores

    cores = emulated_cores()
    spec = known_cores()
    out = []
    with tempfile.TemporaryDirectory(prefix="dsp-bench-") as tmp:
        for i, c in enumerate(GRID):
            pre, raw = build(c.block, c.params, c.source)
            counts = emulate(pre, raw, cores, Path(tmp) / str(i))
            ops = pre.cost().ops
            for core in cores:
                s = spec[core]
                out.append(
                    F.Row(
                        c.block,
                        c.group,
                        core,
                        c.key,
                        counts[core],
                        s.cpi,
                        s.cpi_range[0],
                        s.cpi_range[1],
                        ops,
                        old.get(f"{core}|{c.key}", float("nan")),
                    )
                )
            print(f"emulated {i + 1}/{len(GRID)} {c.block} {c.group}", file=sys.stderr, flush=True)
    return out


def write(data: list[F.Row]) -> None:
    with open(F.DSP_CSV, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in data:
            ops = json.dumps(r.ops, sort_keys=True)
            w.writerow([r.block, r.group, r.core, r.config, r.instructions, r.cpi, r.cpi_low, r.cpi_high, ops,
                        f"{r.old_model_cycles:.6g}"])  # fmt: skip


def _gmean(xs: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(x) for x in xs))


def _err(xs: list[float]) -> float:
    """Mean absolute relative error of ratios model/emulated, in %."""
    return 100 * statistics.fmean(abs(x - 1) for x in xs)


def report(data: tuple[F.Row, ...]) -> None:
    cores = F.emulated_cores(data)
    blocks = list(dict.fromkeys(r.block for r in data))
    print(f"{len(data) // len(cores)} configurations x {len(cores)} emulated cores ({', '.join(cores)})\n")
    print("Model / emulated cycles, geometric mean over the block's configurations (1.00 = exact)")
    hdr = f"{'block':18s} {'core':14s} {'n':>2s} {'emulated kcyc':>13s}" + "".join(
        f" {h:>6s}" for h in ("old", "fit", "LOBO", "LOGO")
    )
    print(hdr)
    print("-" * len(hdr))
    summary = {}
    for core in cores:
        table = F.fit([r for r in data if r.core == core])
        lobo = {r.config: p for r, p in F.held_out(core, "block", data)}
        logo = {r.config: p for r, p in F.held_out(core, "group", data)}
        s = summary.setdefault(core, {"old": [], "fit": [], "lobo": [], "logo": []})
        for b in blocks:
            mine = [r for r in data if r.core == core and r.block == b]
            old = [r.old_model_cycles / r.cycles for r in mine]
            fit = [F.predict(table, r.ops) / r.cycles for r in mine]
            lb = [lobo[r.config] / r.cycles for r in mine]
            lg = [logo[r.config] / r.cycles for r in mine]
            for k, v in zip(("old", "fit", "lobo", "logo"), (old, fit, lb, lg), strict=True):
                s[k] += v
            kc = statistics.fmean(r.cycles for r in mine) / 1e3
            print(
                f"{b:18s} {core:14s} {len(mine):2d} {kc:13,.1f} {_gmean(old):6.2f} {_gmean(fit):6.2f} "
                f"{_gmean(lb):6.2f} {_gmean(lg):6.2f}"
            )
    print("\nPer core: mean |model/emulated - 1| in % (max in brackets); the band and its held-out coverage")
    hdr = f"{'core':14s} {'old':>12s} {'fit':>12s} {'LOBO':>12s} {'LOGO':>12s} {'band':>12s} {'coverage':>9s}"
    print(hdr)
    print("-" * len(hdr))
    for core, s in summary.items():
        t = F.core_table(core)
        held = s["lobo"] + s["logo"]
        cov = sum(t.band_low <= 1 / x <= t.band_high for x in held) / len(held)
        cells = " ".join(f"{_err(s[k]):5.1f} ({100 * max(abs(x - 1) for x in s[k]):4.0f})" for k in s)
        print(f"{core:14s} {cells} {t.band_low:5.2f}-{t.band_high:<6.2f} {cov:9.0%}")
    print(
        "\ncoverage: share of held-out (LOBO + LOGO) rows whose emulated cycles lie within prediction x band; "
        "the band also carries the CPI range of cores.yaml, which the emulated cycles (instructions x CPI) do not "
        "test."
    )
    tr = F.transfer_ratios()
    lo, hi = F.conformal(tr)
    print(
        f"\nTransfer (one emulated core priced with a like core's table, pairs {len(F.TRANSFER_PAIRS)}): "
        f"mean |error| {_err([1 / x for x in tr]):.1f}%, {F.COVERAGE:.0%} interval of emulated/predicted "
        f"{lo:.2f}-{hi:.2f}"
    )
    print("\nShipped cycles per op (targets/*.yaml dsp_cycles_per_op)")
    kinds = list(F.core_table(cores[0]).cycles_per_op)
    print(f"{'core':14s} " + " ".join(f"{k:>7s}" for k in kinds) + "   band")
    for core in [*cores, *F.TRANSFER]:
        t = F.core_table(core)
        print(f"{core:14s} " + " ".join(f"{t.cycles_per_op[k]:7.4g}" for k in kinds) + f"   {t.band_low}-{t.band_high}")
    reference(data)


# The reference points of issue 10, on the default target (Nano 33 BLE: Cortex-M4F at 64 MHz).
REFERENCE = (
    ("demo verify winner: motion stats 2 s", "motion-stats", "M", 0),
    ("README demo winner: spectral 3 s, FFT 32, bands", "motion-spectral", "L", 2),
    ("MFE 1 s, 32 ms frames / 20 ms, 40 filters", "audio-mfe", "M", 0),
    ("MFE 1 s, 40 ms frames / 16 ms, 32 filters", "audio-mfe", "L", 0),
)


def reference(data: tuple[F.Row, ...], core: str = "cortex-m4f", clock_hz: float = 64e6) -> None:
    t = F.core_table(core)
    lobo = {r.config: p for r, p in F.held_out(core, "block", data)}
    print(f"\nReference points on nano33ble ({core}, {clock_hz / 1e6:g} MHz), ms")
    hdr = f"{'configuration':48s} {'emulated':>9s} {'old':>7s} {'new [band]':>22s} {'LOBO':>8s}"
    print(hdr)
    print("-" * len(hdr))
    ms = 1e3 / clock_hz
    for name, block, group, i in REFERENCE:
        r = [x for x in data if x.core == core and x.block == block and x.group == group][i]
        new = F.predict(t.cycles_per_op, r.ops) * ms
        band = f"{new:.3f} [{new * t.band_low:.3f}-{new * t.band_high:.3f}]"
        print(f"{name:48s} {r.cycles * ms:9.3f} {r.old_model_cycles * ms:7.3f} {band:>22s} {lobo[r.config] * ms:8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shipped", action="store_true", help="read the shipped emulated counts, emulate nothing")
    ap.add_argument("--write", action="store_true", help="emulate and rewrite the shipped CSV")
    ap.add_argument("--old-model", help="JSON {core|config: cycles} of the old model (first --write only)")
    args = ap.parse_args()
    if args.shipped:
        report(F.rows())
        return
    old = {f"{r.core}|{r.config}": r.old_model_cycles for r in F.rows()} if F.DSP_CSV.exists() else {}
    if args.old_model:
        old.update(json.loads(Path(args.old_model).read_text()))
    data = gather(old)
    if args.write:
        write(data)
        F.rows.cache_clear()
        F.core_table.cache_clear()
        print(f"wrote {F.DSP_CSV}", file=sys.stderr)
        report(F.rows())
        return
    shipped = {(r.core, r.config): r.instructions for r in F.rows()}
    moved = [r for r in data if shipped.get((r.core, r.config)) not in (None, r.instructions)]
    if moved:
        print(f"note: {len(moved)} rows differ from the shipped counts (toolchain or generator changed)\n")
    report(tuple(data))


if __name__ == "__main__":
    main()
