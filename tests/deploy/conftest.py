"""Compile generated dsp.c once per source (host `cc` into a ctypes library, arm-none-eabi-gcc into an
object) and run it on raw windows."""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tuner.deploy import DspSource

HOST_FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Wdouble-promotion", "-Werror"]
M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os", *HOST_FLAGS[2:]]


class Builder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.libs: dict[str, ctypes.CDLL] = {}

    def folder(self, src: DspSource) -> Path:
        d = self.root / hashlib.sha1((src.header + src.source).encode()).hexdigest()[:12]
        if not d.exists():
            d.mkdir()
            (d / "dsp.h").write_text(src.header)
            (d / "dsp.c").write_text(src.source)
        return d

    def shared(self, c_file: Path) -> ctypes.CDLL:
        """A C file compiled by the host's `cc` into a loaded shared library (once per file)."""
        if str(c_file) not in self.libs:
            if shutil.which("cc") is None:
                pytest.skip("no host C compiler (`cc`); install gcc (apt-get install gcc)")
            so = c_file.with_suffix(".so")
            cmd = ["cc", *HOST_FLAGS, "-shared", "-fPIC", "-o", str(so), str(c_file), "-lm"]
            res = subprocess.run(cmd, capture_output=True, text=True)
            assert res.returncode == 0, res.stderr
            self.libs[str(c_file)] = ctypes.CDLL(str(so))
        return self.libs[str(c_file)]

    def host(self, src: DspSource) -> ctypes.CDLL:
        return self.shared(self.folder(src) / "dsp.c")

    def run(self, src: DspSource, raw: np.ndarray) -> np.ndarray:
        """(n, raw_len) float32 -> (n, out_len) int8 through the compiled tuner_dsp."""
        lib = self.host(src)
        raw = np.ascontiguousarray(raw, dtype=np.float32)
        assert raw.shape[1] == src.raw_len
        out = np.zeros((len(raw), src.out_len), dtype=np.int8)
        for r, o in zip(raw, out, strict=True):
            rc = lib.tuner_dsp(r.ctypes.data_as(ctypes.c_void_p), o.ctypes.data_as(ctypes.c_void_p))
            assert rc == 0
        return out

    def cortex_m4(self, src: DspSource) -> Path:
        """dsp.o for a Cortex-M4F at -Os; skips with the install hint where the toolchain is missing."""
        if shutil.which("arm-none-eabi-gcc") is None:
            pytest.skip("arm-none-eabi-gcc missing: apt-get install gcc-arm-none-eabi")
        d = self.folder(src)
        obj = d / "dsp_m4.o"
        if not obj.exists():
            cmd = ["arm-none-eabi-gcc", *M4_FLAGS, "-c", str(d / "dsp.c"), "-o", str(obj)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            assert res.returncode == 0, res.stderr
        return obj


@pytest.fixture(scope="session")
def builder(tmp_path_factory: pytest.TempPathFactory) -> Builder:
    return Builder(tmp_path_factory.mktemp("dsp_c"))
