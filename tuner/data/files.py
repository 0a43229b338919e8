"""The user's own data from a path. The loader is picked from what the path holds.

| path | loader | result |
|---|---|---|
| `*.npz` | `load_npz` | arrays `x`, `y` (+ `groups`, `class_names`, `rate_hz`) |
| `*.csv`, `*.parquet` with a `sample` column | `load_table` (long) | one recording per `sample` id |
| `*.csv`, `*.parquet` without `sample` | `load_table` (wide) | one row per sample, numeric features |
| folder of class sub-folders with png/jpg/bmp | `load_image_folder` | images |
| folder of class sub-folders with wav | `load_wav_folder` | audio clips resampled to 16 kHz |
| folder of csv/parquet files (one per subject) | `load_table` per file | grouped by file |

Formats are documented in docs/data.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tuner.data._dataset import Dataset
from tuner.errors import InputError

log = logging.getLogger("tuner.data")

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp"}
AUDIO_EXTS = {".wav"}
TABLE_EXTS = {".csv", ".parquet"}
AUDIO_RATE_HZ = 16000
MAX_IMAGE_SIDE = 256  # larger images are downscaled on load (memory); the model sees <= 160 px
GROUP_COLUMNS = ("subject", "group")
TIME_COLUMNS = {"time_ms": 1000.0, "timestamp_ms": 1000.0, "time_s": 1.0, "time": 1.0, "timestamp": 1.0}
# Corrupt files are skipped with a warning while they are few; beyond this the folder is refused.
MAX_BAD_FRACTION = 0.05
MAX_BAD_FILES = 10


# ---------------------------------------------------------------------------------------- NPZ
def load_npz(path: Path) -> Dataset:
    """NPZ with `x` (samples, ...) and `y` (labels); optional `groups`, `class_names`, `rate_hz`.

    `x` of rank 3 (samples, time, channels) is treated as time series when `rate_hz` is given;
    rank 3 or 4 otherwise as images (samples, height, width[, channels]); rank 2 as tabular rows.
    """
    try:
        z = np.load(path, allow_pickle=False)
        x_raw, y_raw = (z["x"], z["y"]) if "x" in z and "y" in z else (None, None)
    except Exception as exc:
        raise InputError(
            f"{path}: cannot read as .npz ({type(exc).__name__}); save numeric arrays with numpy.savez"
        ) from None
    if x_raw is None:
        raise InputError(f"{path}: an .npz needs arrays named 'x' and 'y'; found {sorted(z.files)}")
    if x_raw.dtype == object or not np.issubdtype(x_raw.dtype, np.number):
        raise InputError(f"{path}: 'x' must be one numeric array of equal-length samples; pad or crop them")
    if len(x_raw) != len(y_raw):
        raise InputError(f"{path}: 'x' has {len(x_raw)} samples but 'y' has {len(y_raw)} labels; they must match")
    y_raw = y_raw.reshape(-1) if y_raw.ndim == 2 and y_raw.shape[1] == 1 else y_raw
    if y_raw.ndim != 1:
        raise InputError(
            f"{path}: 'y' must hold one label per sample (shape ({len(x_raw)},)), got shape {y_raw.shape}; "
            "for one-hot labels save y.argmax(axis=1)"
        )
    x = x_raw.astype(np.float32)
    values, y = np.unique(y_raw, return_inverse=True)
    names = tuple(str(n) for n in values)
    if "class_names" in z:  # one name per class, in the sorted order of the labels
        given = z["class_names"].reshape(-1)
        if len(given) != len(values):
            raise InputError(
                f"{path}: 'class_names' has {len(given)} names but 'y' has {len(values)} classes; "
                "give one name per class, in the sorted order of the labels"
            )
        names = tuple(str(n) for n in given)
    groups = z["groups"] if "groups" in z else None
    if groups is not None and groups.shape != (len(x_raw),):
        raise InputError(f"{path}: 'groups' of shape {groups.shape} must hold one group per sample ({len(x_raw)})")
    rate = None
    if "rate_hz" in z:
        r = z["rate_hz"]
        if r.size != 1 or r.dtype.kind not in "iuf" or not np.isfinite(r).all() or float(r.reshape(-1)[0]) <= 0:
            raise InputError(f"{path}: 'rate_hz' must be one positive number (in Hz), got {r.tolist()!r}")
        rate = float(r.reshape(-1)[0])
    if x.ndim == 3 and rate:
        return Dataset("timeseries", list(x), y, names, groups, rate, source=str(path))
    if x.ndim == 2:
        return Dataset("tabular", x, y, names, groups, source=str(path))
    if x.ndim not in (3, 4):
        raise InputError(
            f"{path}: 'x' of shape {x.shape} is not (samples, features), (samples, h, w[, c]) "
            "or (samples, time, channels) with rate_hz"
        )
    if x.ndim == 3:
        x = x[..., None]
    if x.shape[-1] not in (1, 3):
        raise InputError(
            f"{path}: images need 1 (gray) or 3 (RGB) channels, got shape {x.shape[1:]}; drop the alpha channel"
        )
    if x.size and float(x.max()) <= 1.0:  # images scaled to [0, 1]: back to the 0-255 the DSP expects
        x = x * 255.0
    return Dataset("image", x, y, names, groups, source=str(path))


# ---------------------------------------------------------------------------------- CSV/parquet
def _read_table(path: Path) -> Any:
    import pandas as pd

    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        df = pd.read_csv(path)
        head = str(df.columns[0]) if df.shape[1] == 1 else ""
        for sep in (";", "\t"):  # a spreadsheet's export in a locale where ',' is the decimal mark
            if sep in head:
                return pd.read_csv(path, sep=sep)
        return df
    except Exception as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot read as {path.suffix[1:]} ({first}); check the file") from None


def _label_column(df: Any, path: Path) -> str:
    cols = {str(c).strip().lower(): c for c in df.columns}
    for name in ("label", "class"):
        if name in cols:
            return cols[name]
    shown = ", ".join(map(str, list(df.columns)[:8]))
    raise InputError(f"{path}: no 'label' column (columns: {shown}); add one naming each row's class")


def _numeric_columns(df: Any, skip: set, path: Path) -> list:
    import pandas as pd

    cols = [c for c in df.columns if c not in skip]
    bad = [c for c in cols if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        hint = ""
        if "sample" not in skip and _looks_like_recording_ids(df[bad[0]]):
            hint = f"; if '{bad[0]}' names the recording each row belongs to (a long table), rename it to 'sample'"
        raise InputError(
            f"{path}: column '{bad[0]}' is not numeric; data columns must hold numbers "
            f"(besides sample, label, subject/group, time){hint}"
        )
    if not cols:
        raise InputError(f"{path}: no data columns besides the label; add one column per channel/feature")
    return cols


def _looks_like_recording_ids(col: Any) -> bool:
    """A text column whose values each fill one run of consecutive rows, most of them several rows
    long: the id of a recording in a long table under another name than `sample`."""
    values = col.astype(str).to_numpy()
    if len(values) < 4:
        return False
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    runs = np.diff(np.r_[starts, len(values)])
    return len(set(values[starts])) == len(starts) and float(np.median(runs)) >= 2


def _rate_from(df: Any, path: Path, sample: Any = None) -> tuple[float | None, str | None]:
    lower = {str(c).strip().lower(): c for c in df.columns}
    if "rate_hz" in lower:
        rates = df[lower["rate_hz"]].unique()
        if len(rates) != 1 or not np.isfinite(rates[0]) or rates[0] <= 0:
            raise InputError(f"{path}: 'rate_hz' must be one positive value for the whole file")
        return float(rates[0]), lower["rate_hz"]
    for name, per_second in TIME_COLUMNS.items():
        if name in lower:
            col = lower[name]
            t = df[col].to_numpy(dtype=np.float64)
            d = np.diff(t)
            if sample is not None:  # within a recording, time must rise; it restarts at the next one
                ids = df[sample].to_numpy()
                same = ids[1:] == ids[:-1]
                bad = np.flatnonzero(same & (d <= 0))
                if len(bad):
                    i = int(bad[0]) + 1
                    sid = ids[i].item() if isinstance(ids[i], np.generic) else ids[i]
                    raise InputError(
                        f"{path}: column '{col}' {'repeats' if d[i - 1] == 0 else 'goes back'} at row {i + 2} "
                        f"(sample {sid!r}: {t[i - 1]:g} then {t[i]:g}); one row per time step, in time order"
                    )
                d = d[same]
            d = d[d > 0]
            if len(d) == 0:
                raise InputError(f"{path}: column '{col}' does not increase; rows must be in time order")
            return float(per_second / np.median(d)), col
    return None, None


def load_table(path: Path, default_rate_hz: float = 50.0, rate_hz: float | None = None) -> Dataset:
    """CSV or parquet, long or wide format (see docs/data.md). `rate_hz`: the rate of a long table
    without a time or rate_hz column (`--rate-hz`)."""
    df = _read_table(path)
    if len(df) == 0:
        raise InputError(f"{path}: the table has no rows; add samples")
    label = _label_column(df, path)
    lower = {str(c).strip().lower(): c for c in df.columns}
    group = next((lower[g] for g in GROUP_COLUMNS if g in lower), None)
    if df[label].isna().any():
        row = int(np.flatnonzero(df[label].isna().to_numpy())[0])
        raise InputError(f"{path}: row {row + 2} has an empty label; label every row")
    if "sample" in lower:
        if df[lower["sample"]].isna().any():  # groupby would drop these rows silently
            row = int(np.flatnonzero(df[lower["sample"]].isna().to_numpy())[0])
            raise InputError(f"{path}: row {row + 2} has an empty '{lower['sample']}'; give every row its recording id")
        return _long(df, path, lower["sample"], label, group, default_rate_hz, rate_hz)
    feats = _numeric_columns(df, {label, group}, path)
    x = df[feats].to_numpy(dtype=np.float32)
    _check_ragged(x, path)
    names, y = np.unique(df[label].astype(str).to_numpy(), return_inverse=True)
    groups = df[group].astype(str).to_numpy() if group is not None else None
    return Dataset("tabular", x, y, tuple(names), groups, channel_names=tuple(map(str, feats)), source=str(path))


def _check_ragged(x: np.ndarray, path: Path) -> None:
    """Rows that stop early (only trailing cells empty) are samples of mixed lengths."""
    finite = np.isfinite(x)
    bad = np.flatnonzero(~finite.all(axis=1))
    if len(bad) == 0:
        return
    row = finite[bad[0]]
    n = int(np.argmin(row))  # first empty cell
    if n > 0 and not row[n:].any():
        raise InputError(
            f"{path}: samples have mixed lengths (row {bad[0] + 2} stops after {n} of {len(row)} "
            "values) and cannot be stacked; pad or crop them to one length, or use the long "
            "format with a 'sample' column to window them"
        )


def _long(
    df: Any, path: Path, sample: Any, label: Any, group: Any, default_rate_hz: float, given_hz: float | None = None
) -> Dataset:
    rate, time_col = _rate_from(df, path, sample)
    if rate is not None and given_hz is not None and abs(rate - given_hz) > 0.01 * given_hz:
        raise InputError(f"{path}: --rate-hz {given_hz:g} disagrees with the file's column '{time_col}' ({rate:g} Hz)")
    feats = _numeric_columns(df, {sample, label, group, time_col}, path)
    recs, labels, groups = [], [], []
    for sid, part in df.groupby(sample, sort=False):
        labs = part[label].unique()
        if len(labs) != 1:
            raise InputError(
                f"{path}: sample {sid!r} has {len(labs)} labels ({labs[0]!r}, {labs[1]!r}); one label per sample"
            )
        recs.append(part[feats].to_numpy(dtype=np.float32))
        labels.append(str(labs[0]))
        if group is not None:
            groups.append(str(part[group].iloc[0]))
    names, y = np.unique(np.asarray(labels), return_inverse=True)
    if rate is None and given_hz is not None:
        rate = given_hz
    if rate is None:
        log.warning(
            "%s: no time_ms/time_s/rate_hz column; assuming %g Hz (pass --rate-hz, or rate_hz= in the API, "
            "to set the sampling rate)",
            path,
            default_rate_hz,
        )
        rate = default_rate_hz
    return Dataset(
        "timeseries",
        recs,
        y,
        tuple(names),
        np.asarray(groups) if groups else None,
        rate,
        channel_names=tuple(map(str, feats)),
        source=str(path),
    )


def _concat(parts: list[Dataset], path: Path) -> Dataset:
    """Per-subject files: one data set, grouped by file unless the files carry a subject column."""
    kinds = {p.kind for p in parts}
    if len(kinds) != 1:
        raise InputError(f"{path}: the files mix long (with 'sample') and wide formats; use one format")
    names = tuple(sorted({n for p in parts for n in p.class_names}))
    index = {n: i for i, n in enumerate(names)}
    ys, gs, xs = [], [], []
    for p in parts:
        ys.append(np.array([index[p.class_names[i]] for i in p.y], dtype=np.int64))
        gs.append(p.groups if p.groups is not None else np.full(len(p.y), Path(p.source).stem))
        xs.append(p.x)
    chans = {p.channel_names for p in parts}
    if len(chans) != 1:
        raise InputError(f"{path}: the files have different data columns; use the same columns in every file")
    first = parts[0]
    x = [r for xx in xs for r in xx] if first.kind == "timeseries" else np.concatenate(xs)
    rates = {p.rate_hz for p in parts}
    if len(rates) > 1:
        raise InputError(f"{path}: the files have different sampling rates {sorted(rates)}; resample to one")
    return Dataset(
        first.kind,
        x,
        np.concatenate(ys),
        names,
        np.concatenate(gs).astype(str),
        first.rate_hz,
        first.channel_names,
        source=str(path),
    )


# -------------------------------------------------------------------------------- folders
def _group_of(stem: str) -> str | None:
    """`<group>_<rest>` (Speech Commands: `<speaker>_nohash_<n>`) -> group; None if no underscore."""
    m = re.match(r"^([^_]+)_.+", stem)
    return m.group(1) if m else None


def _file_groups(files: list[Path], labels: list[str]) -> np.ndarray | None:
    """Group per file from `<group>_...` names (a speaker or subject), used when >= 3 groups exist,
    groups repeat, and most groups span several classes (`cat_01.png` in `cat/` is not a subject)."""
    gs = [_group_of(f.stem) for f in files]
    if any(g is None for g in gs):
        return None
    uniq = set(gs)
    if len(uniq) < 3 or len(uniq) > len(gs) / 2:
        return None
    classes_of: dict[str, set[str]] = {}
    for g, lab in zip(gs, labels, strict=True):
        classes_of.setdefault(g, set()).add(lab)
    if sum(len(c) >= 2 for c in classes_of.values()) < len(uniq) / 2:
        return None
    return np.asarray(gs)


def _class_files(path: Path, exts: set[str]) -> tuple[list[Path], list[str]]:
    files, labels = [], []
    for d in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(d.rglob("*")):
            if f.suffix.lower() in exts and f.is_file():
                files.append(f)
                labels.append(d.name)
    return files, labels


def _load_files(
    path: Path, files: list[Path], reader: Callable[[Path], Any], what: str
) -> tuple[list[Path], list[Any]]:
    """Read every file; skip unreadable ones with a warning while few, refuse when many."""
    bad: list[tuple[Path, str]] = []
    good: list[Path] = []
    out = []
    for f in files:
        try:
            out.append(reader(f))
            good.append(f)
        except Exception as exc:
            why = str(exc).replace(str(f), f.name).splitlines()[0][:80] if str(exc) else type(exc).__name__
            bad.append((f, why))
    if bad:
        limit = max(1, min(MAX_BAD_FILES, int(MAX_BAD_FRACTION * len(files))))
        if len(bad) > limit:
            raise InputError(
                f"{path}: {len(bad)} of {len(files)} {what} files are unreadable (first: "
                f"{bad[0][0]}: {bad[0][1]}); repair or remove them"
            )
        for f, why in bad:
            log.warning("skipping unreadable %s file %s (%s)", what, f, why)
    return good, out


def _read_image(f: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(f) as im:
        im.load()
        im = im.convert("RGB") if im.mode not in ("L", "RGB") else im
        if max(im.size) > MAX_IMAGE_SIDE:
            scale = MAX_IMAGE_SIDE / max(im.size)
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
    return a[..., None] if a.ndim == 2 else a


def load_image_folder(path: Path) -> Dataset:
    """One sub-folder per class with png/jpg/bmp images (any size; grayscale or colour)."""
    files, labels = _class_files(path, IMAGE_EXTS)
    label_of = dict(zip(files, labels, strict=True))
    files, imgs = _load_files(path, files, _read_image, "image")
    labels = [label_of[f] for f in files]
    if any(im.shape[2] == 3 for im in imgs):  # mixed modes: everything RGB
        imgs = [np.repeat(im, 3, axis=2) if im.shape[2] == 1 else im for im in imgs]
    names, y = np.unique(np.asarray(labels), return_inverse=True)
    shapes = {im.shape for im in imgs}
    x: list[np.ndarray] | np.ndarray = np.stack(imgs) if len(shapes) == 1 else imgs
    return Dataset("image", x, y, tuple(names), _file_groups(files, labels), source=str(path))


def _missing_audio(f: Path) -> float:
    """Share of the audio a RIFF WAV's 'data' chunk declares but the file does not hold (a copy cut
    short); 0 when complete, or when the size is unknown (a WAV written to a pipe declares 0, or a
    placeholder near 2^31 or 2^32)."""
    with open(f, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0.0
        while len(chunk := fh.read(8)) == 8:
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                if size == 0 or size >= 0x7FFF0000:
                    return 0.0
                return max(0.0, 1.0 - (f.stat().st_size - fh.tell()) / size)
            fh.seek(size + (size & 1), 1)
    return 0.0


def _read_wav(f: Path) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    data, rate = sf.read(str(f), dtype="float32", always_2d=True)
    if len(data) == 0:
        raise ValueError("no audio frames")
    missing = _missing_audio(f)
    if missing > 0.01:  # libsndfile reads what is there without a word
        log.warning("%s is cut short: %.0f%% of the audio its header declares is missing; read as is", f, 100 * missing)
    mono = data.mean(axis=1)
    if rate != AUDIO_RATE_HZ:
        g = np.gcd(int(rate), AUDIO_RATE_HZ)
        mono = resample_poly(mono, AUDIO_RATE_HZ // g, int(rate) // g).astype(np.float32)
    return mono[:, None]


def load_wav_folder(path: Path) -> Dataset:
    """One sub-folder per class with .wav files (any rate and channel count: mixed to mono, resampled
    to 16 kHz). Files named `<speaker>_...wav` are grouped by speaker."""
    files, labels = _class_files(path, AUDIO_EXTS)
    label_of = dict(zip(files, labels, strict=True))
    files, clips = _load_files(path, files, _read_wav, "WAV")
    labels = [label_of[f] for f in files]
    names, y = np.unique(np.asarray(labels), return_inverse=True)
    return Dataset(
        "timeseries",
        clips,
        y,
        tuple(names),
        _file_groups(files, labels),
        float(AUDIO_RATE_HZ),
        ("audio",),
        source=str(path),
        meta={"domain": "audio"},
    )


def _folder(path: Path, rate_hz: float | None = None) -> Dataset:
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    tables = sorted(p for p in entries if p.is_file() and p.suffix.lower() in TABLE_EXTS)
    if tables:
        return _concat([load_table(t, rate_hz=rate_hz) for t in tables], path)
    subdirs = [p for p in entries if p.is_dir()]
    exts = {f.suffix.lower() for d in subdirs for f in d.rglob("*") if f.is_file()}
    if not subdirs or not exts & (IMAGE_EXTS | AUDIO_EXTS):
        loose = {p.suffix.lower() for p in entries if p.is_file()}
        if loose & (IMAGE_EXTS | AUDIO_EXTS):
            raise InputError(f"{path}: files lie directly in the folder; put them in one sub-folder per class")
        raise InputError(
            f"{path}: no images (png/jpg/bmp), WAVs or csv/parquet files found; use one sub-folder per class"
        )
    if exts & IMAGE_EXTS and exts & AUDIO_EXTS:
        raise InputError(f"{path}: the class folders mix images and WAVs; keep one kind of data")
    return load_image_folder(path) if exts & IMAGE_EXTS else load_wav_folder(path)


def load_path(path: Path, rate_hz: float | None = None) -> Dataset:
    """Pick the loader from what the path holds; `rate_hz` for long tables without a time column."""
    if path.is_dir():
        return _folder(path, rate_hz)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path)
    if suffix in TABLE_EXTS:
        return load_table(path, rate_hz=rate_hz)
    if suffix in AUDIO_EXTS | IMAGE_EXTS:
        raise InputError(f"{path}: a single file is one sample; pass the folder with one sub-folder per class")
    raise InputError(f"{path}: unsupported data format '{suffix}'; use a folder of images/WAVs, .csv, .parquet or .npz")
