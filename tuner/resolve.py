"""A search space resolved against the data: choices the data cannot support are dropped before sampling.

| domain | dropped |
|---|---|
| motion | windows longer than most recordings; FFT lengths longer than the window (per window); filter
  cut-offs and band edges at or above Nyquist |
| audio | windows longer than every clip (only zero padding); frames longer than the window |
| image | resolutions above the source's; `rgb` when every image is grayscale |

A parameter left without choices takes away the values of the parameter it depends on (no
MobileNet resolution left -> no MobileNet); a parameter that can no longer be active is removed.
Nothing left of a parameter the space needs -> InputError with the fix. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuner.errors import InputError
from tuner.space import Param, SearchSpace

# A motion window must fit in this share of the recordings (the others give no window).
WINDOW_COVERAGE = 0.95
MIN_WINDOW_SAMPLES = 4  # MotionPreprocessor refuses shorter windows
MIN_FFT = 4  # the C twin's FFT needs a power of two >= 4
AUDIO_RATE_HZ = 16000


@dataclass(frozen=True)
class DataFacts:
    """What the resolver needs to know about a data set (cheap to compute, no training)."""

    domain: str
    rate_hz: float | None = None
    lengths: tuple[int, ...] = ()  # samples per recording (time series)
    image_side: int | None = None  # the largest source min(height, width)
    grayscale: bool = False  # every image has one channel, or three equal ones

    def describe(self) -> str:
        if self.lengths:
            lo, hi = min(self.lengths), max(self.lengths)
            return f"{len(self.lengths)} recordings of {lo}-{hi} samples at {self.rate_hz:g} Hz"
        if self.image_side is not None:
            return f"images up to {self.image_side} px, {'grayscale' if self.grayscale else 'colour'}"
        return self.domain


def data_facts(parts: Sequence[Any], domain: str) -> DataFacts:
    """Facts of loaded `tuner.data.Dataset`s (a data set's splits, together) for a space of `domain`."""
    first = parts[0]
    if first.kind == "timeseries":
        return DataFacts(domain, first.rate_hz or 50.0, tuple(int(len(r)) for p in parts for r in p.x))
    if first.kind == "image":
        imgs = [im for p in parts for im in (p.x if isinstance(p.x, list) else [p.x])]  # arrays: whole
        side = max(min(im.shape[-3], im.shape[-2]) for im in imgs)
        gray = all(im.shape[-1] == 1 or _equal_channels(im) for im in imgs)
        return DataFacts(domain, image_side=int(side), grayscale=bool(gray))
    return DataFacts(domain)


def _equal_channels(im: np.ndarray) -> bool:
    """RGB files holding gray pictures (R = G = B) are grayscale too."""
    return bool((im[..., 0] == im[..., 1]).all() and (im[..., 1] == im[..., 2]).all())


# ---------------------------------------------------------------------------------- rules
def _ms_to_samples(ms: float, rate_hz: float) -> int:
    return int(round(float(ms) * rate_hz / 1000))


def _edges_top(text: Any) -> float:
    try:
        return max(float(e) for e in (str(text).split(",") if isinstance(text, str) else text))
    except ValueError:
        return 0.0  # malformed edges are refused later with their own message


@dataclass
class _Work:
    """The space's parameters being resolved, and the notes of what was dropped."""

    params: dict[str, Param]
    fixed: dict[str, Any]
    notes: list[str]

    def by_key(self, key: str) -> list[str]:
        return [n for n, p in self.params.items() if (p.key or n) == key and p.type == "categorical"]

    def drop(self, key: str, keep: Any, why: str) -> None:
        """Keep the categorical choices of every parameter filling `key` that pass `keep`."""
        dropped: list[Any] = []
        for n in self.by_key(key):
            p = self.params[n]
            kept = [c for c in p.choices or [] if keep(c)]
            dropped += [c for c in p.choices or [] if c not in kept and c not in dropped]
            self.params[n] = p.model_copy(update={"choices": kept})
        if dropped:
            self.notes.append(f"{key} {', '.join(map(str, dropped))}: {why}")


def _motion(w: _Work, f: DataFacts) -> None:
    rate = f.rate_hz or 50.0
    fits = int(np.floor(np.quantile(np.asarray(f.lengths), 1 - WINDOW_COVERAGE))) if f.lengths else 0
    w.drop(
        "window_ms",
        lambda ms: MIN_WINDOW_SAMPLES <= _ms_to_samples(ms, rate) <= fits,
        f"longer than {WINDOW_COVERAGE:.0%} of the recordings, {fits} samples = {fits * 1000 / rate:g} ms",
    )
    windows = sorted({_ms_to_samples(c, rate) for n in w.by_key("window_ms") for c in w.params[n].choices or []})
    if "window_ms" in w.fixed:
        windows = [_ms_to_samples(w.fixed["window_ms"], rate)]
    if windows:
        w.drop("fft_length", lambda n: int(n) <= windows[-1], f"longer than every window, {windows[-1]} samples")
        _split_fft_by_window(w, rate)
    nyquist = rate / 2
    w.drop("filter_cutoff_hz", lambda hz: float(hz) < nyquist, f"at or above Nyquist, {nyquist:g} Hz")
    w.drop("power_edges", lambda e: _edges_top(e) <= nyquist, f"above Nyquist, {nyquist:g} Hz")


def _split_fft_by_window(w: _Work, rate: float) -> None:
    """One `fft_length` parameter per window when some FFT lengths fit only the longer windows, so no
    candidate pairs an FFT with a shorter window (Optuna cannot make choices depend on a value)."""
    names = w.by_key("fft_length")
    wins = w.by_key("window_ms")
    if len(names) != 1 or len(wins) != 1 or list(w.params).index(wins[0]) > list(w.params).index(names[0]):
        return
    name, p = names[0], w.params[names[0]]
    choices = w.params[wins[0]].choices or []
    per = {ms: [c for c in p.choices or [] if int(c) <= _ms_to_samples(ms, rate)] for ms in choices}
    if all(v == p.choices for v in per.values()):
        return
    for ms, ok in per.items():  # a window no listed length fits: the largest power of two that does
        fits = 1 << (_ms_to_samples(ms, rate).bit_length() - 1)
        if not ok and fits >= MIN_FFT:
            per[ms] = [fits]
            w.notes.append(
                f"fft_length {', '.join(map(str, p.choices or []))} for {ms} ms windows "
                f"({_ms_to_samples(ms, rate)} samples): replaced by {fits}, the largest power of two that fits"
            )
    out: dict[str, Param] = {}
    for n, q in w.params.items():
        if n != name:
            out[n] = q
            continue
        for ms, ok in per.items():
            if ok:
                when = {**q.when, wins[0]: [ms]}
                out[f"{name}_w{ms}"] = q.model_copy(update={"choices": ok, "when": when, "key": q.key or name})
    w.params = out


def _audio(w: _Work, f: DataFacts) -> None:
    rate = f.rate_hz or AUDIO_RATE_HZ
    longest_ms = max(f.lengths) * 1000 / rate if f.lengths else float("inf")
    wins = [c for n in w.by_key("window_ms") for c in w.params[n].choices or []]
    if any(float(c) <= longest_ms for c in wins):  # longer windows only add zero padding
        w.drop("window_ms", lambda ms: float(ms) <= longest_ms, f"longer than every clip, {longest_ms:g} ms")
    wins = [float(c) for n in w.by_key("window_ms") for c in w.params[n].choices or []]
    wins += [float(w.fixed["window_ms"])] if "window_ms" in w.fixed else []
    if wins:
        top = max(wins)
        w.drop("frame_ms", lambda ms: float(ms) <= top, f"longer than every window, {top:g} ms")
        top_samples = _ms_to_samples(top, AUDIO_RATE_HZ)
        w.drop("fft_length", lambda n: int(n) <= top_samples, f"longer than every window, {top_samples} samples")


def _image(w: _Work, f: DataFacts) -> None:
    if f.image_side is not None:
        side = f.image_side
        w.drop("resolution", lambda r: int(r) <= side, f"above the source resolution, {side} px")
    if f.grayscale:
        w.drop("color", lambda c: c != "rgb", "every image is grayscale")


RULES = {"motion": _motion, "audio": _audio, "image": _image}


# ------------------------------------------------------------------------------- cascade
def _cascade(w: _Work) -> None:
    """Empty parameters take their parents' values away; parameters that can never be active go."""
    changed = True
    while changed:
        changed = False
        for n, p in list(w.params.items()):
            if p.type != "categorical" or p.choices:
                continue
            if len(p.when) != 1:
                raise InputError(f"parameter '{n}' has no value the data supports")
            ((dep, allowed),) = p.when.items()
            parents = w.by_key(dep)
            if not parents:
                raise InputError(f"parameter '{n}' has no value the data supports")
            for pn in parents:
                q = w.params[pn]
                w.params[pn] = q.model_copy(update={"choices": [c for c in q.choices or [] if c not in allowed]})
            w.notes.append(f"{dep} {', '.join(map(str, allowed))}: no {p.key or n} left for it")
            del w.params[n]
            changed = True
        values: dict[str, set] = {k: {str(v)} for k, v in w.fixed.items()}
        for n, p in w.params.items():
            if p.type == "categorical":
                values.setdefault(p.key or n, set()).update(str(c) for c in p.choices or [])
            else:
                values.setdefault(p.key or n, set()).add("*")
        for n, p in list(w.params.items()):
            dead = any(
                dep in values and "*" not in values[dep] and not values[dep] & {str(a) for a in allowed}
                for dep, allowed in p.when.items()
            )
            if dead or any(dep not in values for dep in p.when):
                del w.params[n]
                changed = True


def resolve_space(space: SearchSpace, facts: DataFacts) -> tuple[SearchSpace, str]:
    """The space without the choices the data cannot support, and one line saying what was dropped
    and why ('' when nothing was). InputError (with the fix) when a needed parameter has nothing left."""
    rule = RULES.get(space.domain)
    if rule is None:
        return space, ""
    w = _Work(dict(space.params), dict(space.fixed), [])
    try:
        rule(w, facts)
        _cascade(w)
        for n, p in w.params.items():
            if p.type == "categorical" and not p.choices:
                raise InputError(f"parameter '{n}' has no value the data supports")
        resolved = SearchSpace.model_validate(
            {**space.model_dump(), "params": {n: p.model_dump() for n, p in w.params.items()}}
        )
    except InputError as exc:
        why = "; ".join(w.notes) or "its choices"
        raise InputError(
            f"space '{space.name}' has nothing left for this data ({facts.describe()}): {exc}; dropped {why}; "
            "fix: give the space choices the data supports (a copy of its YAML, passed as --space PATH), "
            "pick another space, or use longer recordings/larger images"
        ) from None
    if not w.notes:
        return resolved, ""
    return resolved, f"space '{space.name}' fitted to the data ({facts.describe()}): dropped " + "; ".join(w.notes)
