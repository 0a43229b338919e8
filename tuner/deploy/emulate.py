"""Run the cross-compiled DSP in the `unicorn` CPU emulator and count the instructions it executes.

dsp.c is built by arm-none-eabi-gcc exactly as for the board (cross.py flags, -Os), linked with newlib's
libm into one flat image, loaded at FLASH_BASE and called as `tuner_dsp(raw, model_input)` with the
window in emulated RAM. The instruction count of the code that will really run, times the core's
cycles-per-instruction figure (cores.yaml, cited), gives the DSP time; unicorn has Cortex-M0/M3/M4/M7/M33
models and none for Helium (M55/M85), Xtensa or RISC-V.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuner.deploy.cross import compile_object, core_spec, run_tool
from tuner.errors import InputError

FLASH_BASE = 0x1000_0000  # code, constants and static buffers (one flat image)
IMAGE_SIZE = 8 << 20
RAM_BASE = 0x2000_0000  # raw window, model input, stack
STOP = 0x3000_0000  # return address: emulation ends when tuner_dsp returns here
MAX_INSTRUCTIONS = 2_000_000_000

_LINK = f"""MEMORY {{ IMAGE (rwx) : ORIGIN = 0x{FLASH_BASE:X}, LENGTH = {IMAGE_SIZE} }}
SECTIONS {{
  .text : {{ *(.text*) *(.rodata*) *(.ARM.exidx*) }} > IMAGE
  .data : {{ *(.data*) }} > IMAGE
  .bss : {{ *(.bss*) *(COMMON) }} > IMAGE
}}
"""


@dataclass(frozen=True)
class Program:
    """A linked image of dsp.c for one core: bytes to load at FLASH_BASE and the entry address."""

    core: str
    image: bytes
    entry: int


@dataclass(frozen=True)
class Emulation:
    """Instructions executed by one call of the DSP on one window, and the time they take on the board."""

    core: str
    unicorn_model: str
    instructions: int
    cpi: float
    cycles: float
    clock_hz: int
    dsp_ms: float
    cpi_source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _symbols(elf: Path) -> dict[str, int]:
    out = run_tool(["arm-none-eabi-nm", str(elf)])
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


def link_program(dsp_c: str | Path, core: str, work_dir: str | Path, entry: str = "tuner_dsp") -> Program:
    """Compile dsp.c for `core` (the board's flags) and link it with newlib's libm into a flat image."""
    spec = core_spec(core)
    if spec is None or spec.unicorn is None:
        raise InputError(f"core '{core}' has no emulator model; emulated cores: {', '.join(emulated_cores())}")
    if not shutil.which("arm-none-eabi-objcopy"):
        raise InputError("arm-none-eabi-objcopy not found: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    obj, elf, ld = work / f"emu-{core}.o", work / f"emu-{core}.elf", work / "emu.ld"
    flags = compile_object(Path(dsp_c), core, obj)
    ld.write_text(_LINK)
    libs = ["-Wl,--start-group", "-lm", "-lc", "-lgcc", "-Wl,--end-group"]
    link = ["arm-none-eabi-gcc", *flags, "-nostartfiles", "-nostdlib", "-Wl,--gc-sections", f"-Wl,-e,{entry}"]
    run_tool([*link, "-T", str(ld), str(obj), *libs, "-o", str(elf)])
    run_tool(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(work / f"emu-{core}.bin")])
    syms = _symbols(elf)
    if entry not in syms:
        raise InputError(f"{dsp_c} defines no function '{entry}'")
    image = (work / f"emu-{core}.bin").read_bytes()
    return Program(core, image, syms[entry])


def _thumb_count(code: bytes) -> int:
    """Instructions in a straight run of Thumb code: a halfword starting 0b11101/0b11110/0b11111 opens a
    32-bit instruction (Arm ARMv7-M ARM, A5.1), any other is a 16-bit one."""
    n = i = 0
    while i + 1 < len(code):
        i += 4 if (code[i + 1] >> 3) in (0x1D, 0x1E, 0x1F) else 2
        n += 1
    return n


def run_program(
    prog: Program, raw: np.ndarray, out_len: int, per_instruction: bool = False
) -> tuple[int, np.ndarray, int]:
    """Call the entry as `int f(const float *raw, int8_t *out)` on one window: (instructions, out, return).

    Counting hooks each translated basic block and adds its instruction count (decoded once per block),
    which is far faster than a per-instruction hook; `per_instruction=True` uses the latter (for tests)."""
    from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_MODE_MCLASS, UC_MODE_THUMB, Uc, arm_const

    spec = core_spec(prog.core)
    if spec is None or spec.unicorn is None:
        raise InputError(f"core '{prog.core}' has no emulator model")
    raw = np.ascontiguousarray(raw, dtype="<f4").ravel()
    out_at = RAM_BASE + (-(-raw.nbytes // 16) * 16)
    ram = -(-(out_at - RAM_BASE + out_len + (1 << 20)) // (1 << 20)) * (1 << 20)  # + 1 MiB of stack
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(getattr(arm_const, spec.unicorn))
    uc.mem_map(FLASH_BASE, IMAGE_SIZE)
    uc.mem_map(RAM_BASE, ram)
    uc.mem_map(STOP, 0x1000)
    uc.mem_write(FLASH_BASE, prog.image)
    uc.mem_write(RAM_BASE, raw.tobytes())
    count = [0]
    if per_instruction:

        def on_code(uc: Any, addr: int, size: int, _: Any) -> None:
            count[0] += 1

        uc.hook_add(UC_HOOK_CODE, on_code)
    else:
        cache: dict[tuple[int, int], int] = {}

        def on_block(uc: Any, addr: int, size: int, _: Any) -> None:
            key = (addr, size)
            if key not in cache:
                cache[key] = _thumb_count(bytes(uc.mem_read(addr, size)))
            count[0] += cache[key]

        uc.hook_add(UC_HOOK_BLOCK, on_block)
    uc.reg_write(arm_const.UC_ARM_REG_R0, RAM_BASE)
    uc.reg_write(arm_const.UC_ARM_REG_R1, out_at)
    uc.reg_write(arm_const.UC_ARM_REG_SP, RAM_BASE + ram - 16)
    uc.reg_write(arm_const.UC_ARM_REG_LR, STOP | 1)
    from unicorn import UcError

    try:
        uc.emu_start(prog.entry | 1, STOP, count=MAX_INSTRUCTIONS)
    except UcError as exc:
        pc = uc.reg_read(arm_const.UC_ARM_REG_PC)
        raise InputError(f"the DSP code faulted in the {prog.core} emulator at 0x{pc:08x}: {exc}") from None
    if uc.reg_read(arm_const.UC_ARM_REG_PC) != STOP:
        raise InputError(f"the DSP did not return within {MAX_INSTRUCTIONS:,} instructions")
    rc = uc.reg_read(arm_const.UC_ARM_REG_R0)
    out = np.frombuffer(bytes(uc.mem_read(out_at, out_len)), dtype=np.int8).copy()
    return count[0], out, rc - (1 << 32) if rc >= 1 << 31 else rc


def emulated_cores() -> list[str]:
    from tuner.deploy.cross import known_cores

    return [k for k, v in known_cores().items() if v.unicorn]


def timing(core: str, instructions: int, clock_hz: int) -> Emulation:
    """Instructions -> cycles (core's cycles per instruction) -> milliseconds at `clock_hz`."""
    spec = core_spec(core)
    if spec is None or spec.unicorn is None:
        raise InputError(f"core '{core}' has no emulator model")
    cycles = instructions * spec.cpi
    ms = cycles / clock_hz * 1e3
    return Emulation(core, spec.unicorn, instructions, spec.cpi, cycles, clock_hz, ms, spec.cpi_source)
