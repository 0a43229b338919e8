"""Bundled keyword-spotting demo: 10 keywords synthesized with espeak-ng, made hard enough to rank models.

Deterministic: a fixed list of synthetic speakers (accent x voice variant x speed x pitch), each
saying every keyword four times, placed at a random offset in a 1 s clip at 16 kHz with random gain,
mixed with background noise (white, pink, brown, mains hum or babble of reversed speech) at 5-25 dB
SNR. Clean espeak-ng speech is too easy (STACK-NOTES: 0.98 with a tiny conv1d); noise, shifts and
unseen speakers in the test split make it discriminative (small conv1d/DS-CNN: ~0.78 after 15
epochs). Generated on first use (about 7 s on 2 cores) into
`$TUNER_CACHE` (default `~/.cache/tinyml-tuner`); speakers are the split groups.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tuner.data._dataset import Dataset
from tuner.errors import InputError

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
    "croak",
    "iven",
    "john",
    "linda",
    "steph",
    "edward",
    "michel",
    "robert",
    "paul",
)
N_SPEAKERS = 48
TAKES = 4
RATE_HZ = 16000
CLIP_SAMPLES = RATE_HZ  # 1 s
SNR_DB = (5.0, 25.0)
VERSION = 1  # bump when the recipe changes: the cache key includes it


def cache_dir() -> Path:
    return Path(os.environ.get("TUNER_CACHE", Path.home() / ".cache" / "tinyml-tuner"))


def speakers() -> list[tuple[str, str, int, int]]:
    """(accent, variant, words per minute, pitch 0-99) of every synthetic speaker."""
    rng = np.random.default_rng(20261126)
    out = []
    for i in range(N_SPEAKERS):
        out.append(
            (
                ACCENTS[i % len(ACCENTS)],
                VARIANTS[int(rng.integers(len(VARIANTS)))],
                int(rng.integers(110, 211)),
                int(rng.integers(20, 91)),
            )
        )
    return out


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise InputError(
            "the 'keywords' audio demo is synthesized with espeak-ng, which is not installed; "
            "run `apt-get install espeak-ng` or pass --data with a folder of your WAVs"
        )
    return exe


def _version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    return out.split("Data at")[0].strip()


def _say(exe: str, word: str, voice: str, speed: int, pitch: int, wav: Path) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), word],
        check=True,
        capture_output=True,
    )
    a, rate = sf.read(str(wav), dtype="float32")
    a = resample_poly(a, RATE_HZ, rate).astype(np.float32) if rate != RATE_HZ else a
    loud = np.flatnonzero(np.abs(a) > 0.02 * np.abs(a).max())
    return a[loud[0] : loud[-1] + 1] if len(loud) else a


def _noise(kind: str, n: int, rng: np.random.Generator, babble: list[np.ndarray]) -> np.ndarray:
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind in ("pink", "brown"):
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.arange(len(spec)), 1.0)
        spec /= np.sqrt(f) if kind == "pink" else f
        x = np.fft.irfft(spec, n)
    elif kind == "hum":
        t = np.arange(n) / RATE_HZ
        f0 = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
        x = x + 0.3 * rng.standard_normal(n)
    else:  # babble: reversed words of other speakers, not keywords but speech-like
        x = np.zeros(n)
        for _ in range(3):
            w = babble[int(rng.integers(len(babble)))][::-1][:n]
            s = int(rng.integers(0, n - len(w) + 1))
            x[s : s + len(w)] += w
    x = np.asarray(x, dtype=np.float64)
    return x / (np.sqrt((x**2).mean()) + 1e-12)


def _augment(word: np.ndarray, rng: np.random.Generator, babble: list[np.ndarray]) -> np.ndarray:
    word = word[:CLIP_SAMPLES]
    clip = np.zeros(CLIP_SAMPLES)
    start = int(rng.integers(0, CLIP_SAMPLES - len(word) + 1))
    clip[start : start + len(word)] = word * rng.uniform(0.3, 1.0) / (np.abs(word).max() + 1e-12)
    p_sig = (word**2).mean() * (np.abs(clip).max() / (np.abs(word).max() + 1e-12)) ** 2
    kind = ("white", "pink", "brown", "hum", "babble")[int(rng.integers(5))]
    snr = rng.uniform(*SNR_DB)
    clip += _noise(kind, CLIP_SAMPLES, rng, babble) * np.sqrt(p_sig / 10 ** (snr / 10))
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def _generate(exe: str) -> dict[str, np.ndarray]:
    spk = speakers()
    rng = np.random.default_rng(VERSION)
    from concurrent.futures import ThreadPoolExecutor

    from tuner.threads import cores

    jobs = [(s, w) for s in range(len(spk)) for w in range(len(WORDS))]
    with tempfile.TemporaryDirectory() as tmp:
        pool = ThreadPoolExecutor(cores())

        def say(job: tuple[int, int]) -> np.ndarray:
            (s, w), (accent, variant, speed, pitch) = job, spk[job[0]]
            return _say(exe, WORDS[w], f"{accent}+{variant}", speed, pitch, Path(tmp) / f"{s}-{w}.wav")

        try:  # one espeak-ng process per clip, as many side by side as cores; the same clips in the same order
            raw = [(s, w, audio) for (s, w), audio in zip(jobs, pool.map(say, jobs), strict=True)]
        finally:  # stopped (SIGTERM in the background child): the clips not started are dropped
            pool.shutdown(cancel_futures=True)
    xs, ys, gs = [], [], []
    for s, w, audio in raw:
        others = [a for s2, _, a in raw if s2 != s][::7]  # babble from other speakers only
        for _ in range(TAKES):
            xs.append(np.round(_augment(audio, rng, others) * 32767).astype(np.int16))
            ys.append(w)
            gs.append(s)
    return {"x": np.stack(xs), "y": np.asarray(ys), "groups": np.asarray(gs)}


def _cache_path(exe: str) -> Path:
    recipe = f"{VERSION}|{_version(exe)}|{speakers()}|{TAKES}|{SNR_DB}"
    key = hashlib.sha1(recipe.encode()).hexdigest()[:10]
    return cache_dir() / f"keywords-v{VERSION}-{key}.npz"


def _ensure_cached(exe: str, path: Path) -> None:
    if path.exists():
        return
    data = _generate(exe)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:  # not compressed: noisy audio shrinks only 58 -> 47 MB, for 3 s
            np.savez(f, **data)  # of zlib on a first use and 0.4 s more on every load
        os.replace(tmp, path)  # atomic: concurrent first uses do not see half a file
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


_BACKGROUND: list[subprocess.Popen] = []  # the running background synthesis


def synthesize_in_background() -> None:
    """Start the keyword set's first synthesis (8-11 s on 2 cores, once per machine) in a child
    process when it is not cached yet, so that it runs beside TensorFlow's import, which keeps one
    core busy for most of a sweep's start-up (a thread of this process barely overlapped it: both
    hold the GIL); `load_keywords` waits for it. If this process exits first (bad input), the child
    is stopped and removes its temporary files. No-op when cached, already started, or espeak-ng is
    missing (the load then says so)."""
    if _BACKGROUND:
        return
    try:
        path = _cache_path(_espeak())
    except (InputError, OSError):
        return
    if path.exists():
        return
    quiet = subprocess.DEVNULL
    _BACKGROUND.append(
        subprocess.Popen([sys.executable, "-m", "tuner.data.keywords"], stdin=quiet, stdout=quiet, stderr=quiet)
    )
    atexit.register(_stop_background)


def _stop_background() -> None:
    for proc in _BACKGROUND:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: the child exits through its clean-up (`__main__` below)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


def _wait_background() -> None:
    """Wait for a background synthesis (its failure is not reported: the load synthesizes again and
    raises the error itself)."""
    while _BACKGROUND:
        _BACKGROUND.pop().wait()


def load_keywords() -> Dataset:
    """The synthesized keyword set: 1,920 one-second clips at 16 kHz, 10 classes, 48 speakers."""
    exe = _espeak()
    _wait_background()
    path = _cache_path(exe)
    _ensure_cached(exe, path)
    with np.load(path) as z:
        x, y, groups = z["x"], z["y"], z["groups"]
    clips = [(c.astype(np.float32) / 32767.0)[:, None] for c in x]
    return Dataset(
        "timeseries",
        clips,
        y.astype(np.int64),
        WORDS,
        np.asarray([f"spk{g:02d}" for g in groups]),
        float(RATE_HZ),
        ("audio",),
        source=f"keywords (espeak-ng synthesized, cached in {path})",
        meta={"domain": "audio"},
    )


if __name__ == "__main__":  # pragma: no cover - `synthesize_in_background`'s child
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # exit through the temporary files' clean-up
    exe = _espeak()
    _ensure_cached(exe, _cache_path(exe))
