"""Generate the bundled `targets/*.yaml` from board specs and the calibration fit.

Run `python -m tuner.estimate._profiles` after changing the calibration data, the priors or
the board table; `tests/test_targets.py` checks the bundled files match this output.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from tuner.estimate._calibration_data import COREMARK_SOURCE, MEASUREMENTS
from tuner.estimate._fit import (
    FamilyFit,
    fit_family,
    leave_one_board_out,
    leave_one_out,
    log_band,
    single_model_transfer,
)
from tuner.targets import DEFAULT_TARGET, Target, dump_target, target_from_dict

BOARDS_SOURCE = "shared/calibration/boards.csv"

# id, name, mcu, core, clock MHz, SRAM kB, flash kB, kernels, spec source, notes
BOARDS = [
    (
        "nano33ble",
        "Arduino Nano 33 BLE Sense",
        "nRF52840",
        "cortex-m4f",
        64,
        256,
        1024,
        "cmsis-nn",
        "Nordic nRF52840 product specification; Arduino board documentation",
        "",
    ),
    (
        "nucleo-l4r5zi",
        "ST NUCLEO-L4R5ZI",
        "STM32L4R5ZI",
        "cortex-m4f",
        120,
        640,
        2048,
        "cmsis-nn",
        "ST STM32L4R5xx datasheet",
        "Calibrated on the MLPerf Tiny v0.5 reference build (TFLM 2.3.1, 2020); current TFLM + CMSIS-NN "
        "needs about half the cycles per MAC (compare ek-ra6m4), so this profile is conservative.",
    ),
    (
        "nucleo-h7a3zi",
        "ST NUCLEO-H7A3ZI-Q",
        "STM32H7A3ZI",
        "cortex-m7",
        280,
        1376,
        2048,
        "cmsis-nn",
        "ST STM32H7A3xI datasheet",
        "",
    ),
    (
        "portenta-h7",
        "Arduino Portenta H7 (M7 core)",
        "STM32H747XI",
        "cortex-m7",
        480,
        1024,
        2048,
        "cmsis-nn",
        "ST STM32H747xI datasheet; Arduino board documentation",
        "",
    ),
    (
        "nrf5340dk",
        "Nordic nRF5340 DK (application core)",
        "nRF5340",
        "cortex-m33",
        128,
        512,
        1024,
        "cmsis-nn",
        "Nordic nRF5340 product specification",
        "",
    ),
    (
        "ek-ra6m4",
        "Renesas EK-RA6M4",
        "R7FA6M4AF",
        "cortex-m33",
        200,
        256,
        1024,
        "cmsis-nn",
        "Renesas RA6M4 datasheet",
        "",
    ),
    (
        "ek-ra8d1",
        "Renesas EK-RA8D1",
        "R7FA8D1BH",
        "cortex-m85",
        480,
        1024,
        2048,
        "cmsis-nn-helium",
        "Renesas RA8D1 datasheet",
        "",
    ),
    (
        "xg24",
        "Silicon Labs xG24 Dev Kit",
        "EFR32MG24",
        "cortex-m33",
        78,
        256,
        1536,
        "cmsis-nn",
        "Silicon Labs EFR32MG24 datasheet",
        "The MVP matrix accelerator is not modelled: CPU (CMSIS-NN) kernels are assumed.",
    ),
    (
        "nucleo-g0b1re",
        "ST NUCLEO-G0B1RE",
        "STM32G0B1RE",
        "cortex-m0plus",
        64,
        144,
        512,
        "cmsis-nn",
        "ST STM32G0B1xx datasheet",
        "Cortex-M0+ has no DSP extension: CMSIS-NN runs its plain C paths.",
    ),
    (
        "rp2040",
        "Raspberry Pi Pico",
        "RP2040",
        "cortex-m0plus",
        125,
        264,
        2048,
        "cmsis-nn",
        "Raspberry Pi RP2040 datasheet (133 MHz rated; 125 MHz is the pico-sdk default clk_sys, "
        "the clock of the "
        "pico-tflmicro benchmark); flash is external QSPI",
        "Single core. pico-tflmicro reports 587.4 ms instead of 823.7 ms for person detection using both cores.",
    ),
    (
        "esp32",
        "Espressif ESP32-DevKitC",
        "ESP32",
        "xtensa-lx6",
        240,
        520,
        4096,
        "esp-nn",
        "Espressif ESP32 datasheet",
        "",
    ),
    (
        "esp32-s3",
        "Espressif ESP32-S3-DevKitC-1",
        "ESP32-S3",
        "xtensa-lx7",
        240,
        512,
        8192,
        "esp-nn",
        "Espressif ESP32-S3 datasheet",
        "",
    ),
    (
        "esp32-c3",
        "Espressif ESP32-C3-DevKitM-1",
        "ESP32-C3",
        "riscv32-imc",
        160,
        400,
        4096,
        "esp-nn",
        "Espressif ESP32-C3 datasheet",
        "",
    ),
    (
        "sparkfun-edge",
        "SparkFun Edge",
        "Apollo3 Blue",
        "cortex-m4f",
        48,
        384,
        1024,
        "cmsis-nn",
        "Ambiq Apollo3 Blue datasheet",
        "",
    ),
    (
        "alif-e7-hp",
        "Alif Ensemble E7 (high-performance M55 core)",
        "AE722F80F55D5",
        "cortex-m55",
        400,
        4096,
        5632,
        "cmsis-nn-helium",
        "Alif Ensemble E7 datasheet",
        "The Ethos-U55 NPU is not modelled: CPU Helium kernels.",
    ),
]

_FPU_SRC = (
    "Arm Cortex-M4/M33 FPU instruction timings (VADD/VMUL 1 cycle, VFMA 3, VDIV/VSQRT 14); "
    "exp/log/sin from libm, estimate ~60 cycles; radix-2 butterfly = 1 complex multiply + 2 complex "
    "adds (10 flops) plus loads"
)
DSP_TABLES = {
    "fpu": (
        {
            "mac": 3,
            "add": 1,
            "mul": 1,
            "div": 14,
            "cmp": 1,
            "sqrt": 14,
            "log": 60,
            "exp": 60,
            "trig": 60,
            "fft": 14,
        },
        _FPU_SRC,
    ),
    "fpu-dual": (
        {
            "mac": 1,
            "add": 1,
            "mul": 1,
            "div": 14,
            "cmp": 1,
            "sqrt": 14,
            "log": 40,
            "exp": 40,
            "trig": 40,
            "fft": 8,
        },
        "Cortex-M7/M55/M85 dual-issue FPU: as Cortex-M4 FPU timings with "
        "fused multiply-add in 1 cycle throughput (estimate)",
    ),
    "soft": (
        {
            "mac": 110,
            "add": 60,
            "mul": 50,
            "div": 160,
            "cmp": 30,
            "sqrt": 400,
            "log": 1500,
            "exp": 1500,
            "trig": 1500,
            "fft": 400,
        },
        "no FPU: software floating point (RP2040 ROM / libgcc soft-float), estimate from typical soft-float call costs",
    ),
    "xtensa": (
        {
            "mac": 2,
            "add": 1,
            "mul": 1,
            "div": 30,
            "cmp": 1,
            "sqrt": 30,
            "log": 80,
            "exp": 80,
            "trig": 80,
            "fft": 14,
        },
        "Xtensa LX6/LX7 single-precision FPU (MADD.S; no hardware divide/sqrt: Newton iterations ~30 cycles), estimate",
    ),
}
_DSP_BY_CORE = {
    "cortex-m4f": "fpu",
    "cortex-m33": "fpu",
    "cortex-m7": "fpu-dual",
    "cortex-m55": "fpu-dual",
    "cortex-m85": "fpu-dual",
    "cortex-m0plus": "soft",
    "riscv32-imc": "soft",
    "xtensa-lx6": "xtensa",
    "xtensa-lx7": "xtensa",
}
_CODE_FACTOR = {"cortex-m0plus": 1.1, "riscv32-imc": 1.15, "xtensa-lx6": 1.1, "xtensa-lx7": 1.1}


def _within_residuals(fam: str) -> list[float]:
    loo = [r for r in leave_one_out() if not r.cold_start]
    return [r.per_op_err for r in loo if r.kernels == fam] or [r.per_op_err for r in loo]


def _family_bands(fam: str) -> tuple[tuple[float, float], tuple[float, float], str, str]:
    loo = [r for r in leave_one_out() if not r.cold_start]
    within = [r.per_op_err for r in loo if r.kernels == fam] or [r.per_op_err for r in loo]
    wsrc = (
        f"leave-one-out residuals of {len(within)} rows of boards with other rows of their own "
        f"({'same family' if any(r.kernels == fam for r in loo) else 'all families pooled'})"
    )
    bo = leave_one_board_out()
    cold = [r.per_op_err for r in bo if r.kernels == fam] or [r.per_op_err for r in bo]
    csrc = (
        f"leave-one-board-out residuals of {len(cold)} rows "
        f"({'same family' if any(r.kernels == fam for r in bo) else 'all families pooled'})"
    )
    return log_band(within), log_band(within + cold), wsrc, csrc


def _r(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def build_profile(row, fits: dict[str, FamilyFit]) -> Target:
    tid, name, mcu, core, mhz, sram_kb, flash_kb, fam, src, notes = row
    fit = fits[fam]
    rows = [m for m in MEASUREMENTS if m.board == tid and m.kernels == fam]
    (wl, wh), (cl, ch), wsrc, csrc = _family_bands(fam)
    fitted_on = "; ".join(sorted({f"{m.model} ({m.source})" for m in rows}))
    if len(rows) == 1:
        scale, naive = fit.board_scale[tid], fit.naive_cpm[tid]
        single = single_model_transfer()
        low, high = log_band([*_within_residuals(fam), *single])
        wsrc += (
            f", widened by {len(single)} single-model transfers (board scale from one model, prior "
            "per-unit costs, predicting another model of the same board): this board has one measurement"
        )
    elif rows:
        scale, naive = fit.board_scale[tid], fit.naive_cpm[tid]
        low, high = wl, wh
    if rows:
        lsrc = (
            f"per-op cycle model, family `{fam}` shape fitted on shared/calibration/latency.csv; board scale "
            f"fitted on this board's rows: {fitted_on}. Band: {wsrc}."
        )
    else:
        scale, naive = fit.cold_scale(core), fit.cold_scale(core, naive=True)
        low, high = cl, ch
        donors = ", ".join(sorted(fit.donors(core)))
        lsrc = (
            f"no measurement of this board: family `{fam}` shape fitted on shared/calibration/latency.csv, "
            f"scale transferred from {donors} by CoreMark/MHz ratio ({COREMARK_SOURCE}). Band: {csrc}, "
            f"widened by {wsrc}."
        )
    dsp, dsp_src = DSP_TABLES[_DSP_BY_CORE[core]]
    data = {
        "id": tid,
        "name": name,
        "mcu": mcu,
        "core": core,
        "clock_hz": int(mhz * 1e6),
        "ram_bytes": sram_kb * 1024,
        "flash_bytes": flash_kb * 1024,
        "kernels": fam,
        "source": f"{src} (via {BOARDS_SOURCE})",
        "latency": {
            "cycles_per_unit": {k: _r(scale * v) for k, v in fit.coeffs.items()},
            "band_low": _r(math.floor(low * 1000) / 1000, 3),
            "band_high": _r(math.ceil(high * 1000) / 1000, 4),
            "naive_cycles_per_mac": _r(naive),
            "calibrated": bool(rows),
            "source": lsrc,
        },
        "runtime_ram_bytes": {
            "value": 4096.0,
            "source": (
                "estimate, not measured: MicroInterpreter + MicroMutableOpResolver objects (~1 kB) "
                "and the call "
                "stack of the deepest kernel (~3 kB); excludes the application and RTOS task stacks"
            ),
        },
        "flash_framework_bytes": {
            "value": 10600,
            "source": (
                "shared/calibration/README.md: TFLM framework alone about 10.6 kB (Cortex-M4, release, "
                "size-optimised, measured 2025)"
            ),
        },
        "code_size_factor": {
            "value": _CODE_FACTOR.get(core, 1.0),
            "source": (
                "1.0 = Cortex-M4 Thumb-2 sizes of calibration/README.md; other ISAs: estimate of "
                "code density "
                "(Thumb-1 M0+, Xtensa with density option, RV32IMC)"
            ),
        },
        "dsp_cycles_per_op": dsp,
        "dsp_source": dsp_src,
        "notes": (notes + (" Default target." if tid == DEFAULT_TARGET else "")).strip(),
    }
    return target_from_dict(data, tid)


def all_profiles() -> list[Target]:
    fits = {fam: fit_family(fam, MEASUREMENTS) for fam in {b[7] for b in BOARDS}}
    return [build_profile(b, fits) for b in BOARDS]


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for t in all_profiles():
        (out / f"{t.id}.yaml").write_text(dump_target(t))
        print(f"{t.id}: band {t.latency.band_low}-{t.latency.band_high}")


if __name__ == "__main__":
    from tuner.paths import TARGETS_DIR

    main(sys.argv[1] if len(sys.argv) > 1 else str(TARGETS_DIR))
