"""Cross-compile the generated DSP (dsp.c) for the target's Arm core and measure its code and data size.

Uses Debian's `gcc-arm-none-eabi` (`arm-none-eabi-gcc`, `-size`, `-nm`): the object is built at -Os with
the core's flags from `cores.yaml`, its sizes read with `arm-none-eabi-size`, and the symbols it leaves
undefined (libm, compiler runtime) listed with `arm-none-eabi-nm -u`. No newlib is needed for this step.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from tuner.errors import InputError

CORES_FILE = Path(__file__).with_name("cores.yaml")
INSTALL_HINT = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"
# -ffunction-sections: a linker with --gc-sections drops what tuner_dsp does not reach; -std=c99: the contract
COMMON_FLAGS = ("-Os", "-std=c99", "-ffunction-sections", "-fdata-sections", "-Wall")
# soft-float and integer division helpers of libgcc: always available with the toolchain, not libm
RUNTIME_PREFIXES = ("__aeabi_", "__gnu_", "__clz", "__ctz", "__popcount")


@dataclass(frozen=True)
class CoreSpec:
    """How to build and emulate code for one core; `unicorn` is None when no emulator model exists."""

    core: str
    gcc_flags: tuple[str, ...]
    unicorn: str | None
    cpi: float
    cpi_source: str
    cpi_range: tuple[float, float] = (0.0, 0.0)  # what the true figure may be: the band of the DSP estimate


@dataclass(frozen=True)
class CrossBuild:
    """An -Os object of dsp.c for `core`: sizes in bytes (`text` includes read-only constants) and the
    symbols it needs from outside (libm beyond `libm`, compiler runtime in `runtime`)."""

    core: str
    flags: tuple[str, ...]
    object_path: str
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    undefined: tuple[str, ...]
    runtime: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.cache
def known_cores() -> dict[str, CoreSpec]:
    raw = yaml.safe_load(CORES_FILE.read_text())
    return {
        k: CoreSpec(
            k,
            tuple(v["gcc_flags"]),
            v.get("unicorn"),
            float(v["cpi"]),
            str(v["cpi_source"]),
            (float(v["cpi_range"][0]), float(v["cpi_range"][1])),
        )
        for k, v in raw.items()
    }


def core_spec(core: str) -> CoreSpec | None:
    """The Arm core's build/emulation settings, or None for cores arm-none-eabi-gcc cannot target."""
    return known_cores().get(core)


def toolchain_missing() -> str | None:
    """None if arm-none-eabi-gcc/size/nm are on PATH, else a one-line install hint."""
    missing = [t for t in ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm") if not shutil.which(t)]
    if missing:
        return f"{', '.join(missing)} not found: install the Arm toolchain ({INSTALL_HINT}) for measured DSP sizes"
    return None


def run_tool(cmd: list[str], cwd: Path | None = None) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)
    if p.returncode != 0:
        raise InputError(f"{cmd[0]} failed: {(p.stderr or p.stdout).strip().splitlines()[-1:]}")
    return p.stdout


def compile_object(src: Path, core: str, out: Path, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Compile one C file for `core` to `out`; returns the flags used."""
    spec = core_spec(core)
    if spec is None:
        raise InputError(f"core '{core}' is not an Arm Cortex-M core; known: {', '.join(known_cores())}")
    flags = (*spec.gcc_flags, *COMMON_FLAGS, *extra)
    run_tool(["arm-none-eabi-gcc", *flags, "-I", str(src.parent), "-c", str(src), "-o", str(out)])
    return flags


def sizes(obj: Path) -> tuple[int, int, int]:
    """(text, data, bss) bytes of an object, as `arm-none-eabi-size` (Berkeley format) prints them."""
    line = run_tool(["arm-none-eabi-size", str(obj)]).strip().splitlines()[-1].split()
    return int(line[0]), int(line[1]), int(line[2])


def undefined_symbols(obj: Path) -> tuple[str, ...]:
    """Symbols the object needs from outside (`arm-none-eabi-nm -u`)."""
    out = run_tool(["arm-none-eabi-nm", "-u", str(obj)])
    return tuple(sorted(line.split()[-1] for line in out.splitlines() if line.strip()))


def cross_compile(dsp_c: str | Path, core: str, out_dir: str | Path) -> CrossBuild:
    """Build dsp.c for `core` at -Os into `out_dir/dsp-<core>.o` and measure it."""
    src, out_dir = Path(dsp_c), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    obj = out_dir / f"dsp-{core}.o"
    flags = compile_object(src, core, obj)
    text, data, bss = sizes(obj)
    und = undefined_symbols(obj)
    runtime = tuple(s for s in und if s.startswith(RUNTIME_PREFIXES))
    rest = tuple(s for s in und if s not in runtime)
    return CrossBuild(core, flags, str(obj), text, data, bss, rest, runtime)
