"""Training-time estimate from throughput measured on this machine.

Model: seconds per epoch = overhead_s + steps * (step_s + conv_layers * conv_step_s)
    + samples * ((macs - dw_macs) * mac_s + dw_macs * dw_mac_s + bn_elems * bn_elem_s),
where `macs` are the forward multiply-accumulates of one sample (training costs about 3x forward),
`dw_macs` the part in depthwise convolutions, `bn_elems` the activation elements that go through
BatchNormalization and `conv_layers` the convolution layers (each adds a fixed cost to every step,
~0.5 ms on 2 cores: the small conv nets of 28 px images spent most of an epoch there). Measured on
a 2-core x86 host: a depthwise MAC costs ~6x a conv MAC in training and a BatchNorm element ~100x,
so with MACs alone a MobileNet's training was underestimated 10x. The coefficients come from a
short measurement on this host (`measure_host`, about 20 s, done once per machine and cached).

`TrainingTimeModel` adds what that per-epoch formula misses and calibrates it on the sweep itself:
graph tracing and compilation once per model (grows with the number of layers), the validation
pass of every epoch (forward only, ~1/3 of a training sample), and one correction factor per model
family fitted on the real epoch times of that family's finished trials, with a band from their
spread. The sweep records the estimate before each trial, so the hit rate is out of sample.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuner.paths import PACKAGE_DATA


@dataclass(frozen=True)
class HostThroughput:
    overhead_s: float  # per epoch: validation pass setup, callbacks
    step_s: float  # per optimizer step, independent of model size
    mac_s: float  # per forward dense MAC per training sample (includes backward)
    source: str = "measured"
    dw_mac_s: float | None = None  # per depthwise-conv MAC; None: same as mac_s
    bn_elem_s: float = 0.0  # per activation element through BatchNormalization
    compile_s: float = 1.0  # per model: tracing the train and validation functions ...
    compile_layer_s: float = 0.03  # ... plus this per Keras layer
    compile_graphs: int = 1  # graphs the compile figures cover (older probes traced the train step only)
    check_s: float | None = None  # `load_check` when the probe ran (None: a probe older than the check)
    load_scale: float = 1.0  # `load_check` now / `check_s`: the coefficients are scaled by it
    conv_step_s: float = 0.0  # per optimizer step per convolution layer, whatever its size
    probe: int = 1  # version of `measure_host` that measured it (a cached older one is measured again)

    def scaled(self, ratio: float) -> HostThroughput:
        """The same host when it trains `ratio` times slower (load): every time coefficient x ratio."""
        dw = None if self.dw_mac_s is None else self.dw_mac_s * ratio
        return dataclasses.replace(
            self,
            overhead_s=self.overhead_s * ratio,
            step_s=self.step_s * ratio,
            mac_s=self.mac_s * ratio,
            dw_mac_s=dw,
            bn_elem_s=self.bn_elem_s * ratio,
            conv_step_s=self.conv_step_s * ratio,
            compile_s=self.compile_s * ratio,
            compile_layer_s=self.compile_layer_s * ratio,
            load_scale=self.load_scale * ratio,
            source=f"{self.source.split(' (x')[0]} (x{self.load_scale * ratio:.2f} for the load now)",
        )

    def per_sample_seconds(self, macs: int, dw_macs: int = 0, bn_elems: int = 0) -> float:
        dw = self.mac_s if self.dw_mac_s is None else self.dw_mac_s
        return (macs - dw_macs) * self.mac_s + dw_macs * dw + bn_elems * self.bn_elem_s

    def epoch_seconds(
        self, macs: int, samples: int, batch_size: int, dw_macs: int = 0, bn_elems: int = 0, conv_layers: int = 0
    ) -> float:
        steps = -(-samples // batch_size)
        per_step = self.step_s + conv_layers * self.conv_step_s
        return self.overhead_s + steps * per_step + samples * self.per_sample_seconds(macs, dw_macs, bn_elems)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> HostThroughput:
        """Read a saved measurement; fields this version does not know (a newer probe's) are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})


def measure_host(samples: int = 1024, batch_size: int = 32) -> HostThroughput:
    """Each coefficient from a pair of fits that differ in its term alone, so the others cancel
    (15-25 s on 2 cores at load 2-5). The older probe solved overhead, step and MAC costs together from
    4 dense fits whose MAC term was a few percent of the time: the split moved with every burst of
    load (per-MAC cost 0 to 8e-11 s on one quiet machine, per-step cost at its floor under load).

    - per epoch and per step: a 1-unit dense net (MACs negligible), 2 vs 512 steps;
    - per MAC: 32x32x8 inputs through a 3x3 conv of 64 filters (4.7 M MACs, most of the epoch) vs
      the same net without the conv;
    - per depthwise MAC and per BatchNorm element: that layer on 32x32x32 inputs vs the same net
      without it;
    - per step per convolution layer: 8 vs 1 conv layers of 4 filters on 4x4x4 inputs (MACs
      negligible), 128 steps;
    - tracing per model and per layer (`_tracing_cost`), and `load_check`.
    Every fit compiles as trials do (`steps_per_execution`). The two fits of a pair alternate, 3
    epochs each after a tracing epoch, and the median of the 3 differences is kept: both sides of a
    difference see the same load."""
    import keras

    layers = keras.layers
    rng = np.random.default_rng(0)
    few, many = 2 * batch_size, 512 * batch_size  # steps
    y = rng.integers(0, 4, many)

    def rounds(specs: list[tuple[list[Any], int]], x: np.ndarray) -> np.ndarray:
        """Seconds of one epoch of each (layers, rows) spec, fits alternating: 3 rounds x specs
        (specs with the same layers list share one model)."""
        fits, built = [], {}
        for body, n in specs:
            if id(body) not in built:
                built[id(body)] = _compile(keras.Sequential([keras.Input(x.shape[1:]), *body, layers.Dense(4)]))
                built[id(body)].fit(x[:batch_size], y[:batch_size], epochs=1, verbose=0)  # build + trace
            fits.append((built[id(body)], n))
        out = np.zeros((3, len(fits)))
        for r in range(3):
            for i, (model, n) in enumerate(fits):
                start = time.perf_counter()
                model.fit(x[:n], y[:n], epochs=1, batch_size=batch_size, verbose=0)
                out[r, i] = time.perf_counter() - start
        return out

    def paired(a: tuple[list[Any], int], b: tuple[list[Any], int], x: np.ndarray) -> float:
        """Median over the rounds of (an epoch of a) - (an epoch of b)."""
        t = rounds([a, b], x)
        return float(np.median(t[:, 0] - t[:, 1]))

    flat = rng.standard_normal((many, 8)).astype(np.float32)
    unit = [layers.Dense(1)]
    t = rounds([(unit, many), (unit, few)], flat)
    step = max(float(np.median(t[:, 0] - t[:, 1])) / (many / batch_size - 2), 1e-5)
    overhead = max(float(np.median(t[:, 1])) - 2 * step, 0.0)
    pool = [layers.GlobalAveragePooling2D()]
    img8 = rng.standard_normal((samples, 32, 32, 8)).astype(np.float32)
    conv = paired(([layers.Conv2D(64, 3, padding="same"), *pool], samples), (pool, samples), img8)
    mac = max(conv / (samples * 32 * 32 * 9 * 8 * 64), 1e-13)
    img32 = rng.standard_normal((samples, 32, 32, 32)).astype(np.float32)
    t = rounds(
        [
            (pool, samples),
            ([layers.DepthwiseConv2D(3, padding="same"), *pool], samples),
            ([layers.BatchNormalization(), *pool], samples),
        ],
        img32,
    )
    dw, bn = float(np.median(t[:, 1] - t[:, 0])), float(np.median(t[:, 2] - t[:, 0]))
    tiny = rng.standard_normal((many, 4, 4, 4)).astype(np.float32)
    stack = [layers.Conv2D(4, 3, padding="same") for _ in range(7)]
    conv_layer = paired(
        ([layers.Conv2D(4, 3, padding="same"), *stack, layers.Flatten()], 128 * batch_size),
        ([layers.Conv2D(4, 3, padding="same"), layers.Flatten()], 128 * batch_size),
        tiny,
    )
    conv_step = max(conv_layer / (7 * 128), 0.0)
    dw_mac = max(dw / (samples * 32 * 32 * 9 * 32), mac)
    bn_elem = max(bn / (samples * 32 * 32 * 32), 0.0)
    x = rng.standard_normal((samples, 64)).astype(np.float32)
    compile_base, per_layer = _tracing_cost(x, y, batch_size)
    return HostThroughput(
        overhead,
        step,
        mac,
        "measured on this host",
        dw_mac,
        bn_elem,
        compile_base,
        per_layer,
        compile_graphs=2,
        check_s=load_check(),
        conv_step_s=conv_step,
        probe=PROBE_VERSION,
    )


def _compile(model: Any) -> Any:
    """Compiled as trials are (Adam, sparse cross-entropy on logits, `steps_per_execution`)."""
    import keras

    from tuner.train import STEPS_PER_EXECUTION, build_for_fit

    model.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    build_for_fit(model)
    return model


def _dense(input_dim: int, widths: list[int]) -> Any:
    """A dense net (ReLU hidden layers of `widths`, 4 logits) compiled as trials are."""
    import keras

    layers = [keras.layers.Dense(w, "relu") for w in widths]
    return _compile(keras.Sequential([keras.Input((input_dim,)), *layers, keras.layers.Dense(4)]))


def _tracing_cost(x: np.ndarray, y: np.ndarray, batch_size: int) -> tuple[float, float]:
    """(base, per layer) seconds of a first fit with validation (train and validation graphs traced,
    as in a trial) of dense stacks of 2 and 10 layers, best of 2. Two depths of one layer type: the
    older split from a 3-layer dense and a 5-layer conv model was noise (per layer 0.005-0.32 s)."""

    def first_fit(depth: int) -> float:
        model = _dense(x.shape[1], [16] * (depth - 1))
        xs, ys = x[:batch_size], y[:batch_size]
        start = time.perf_counter()
        model.fit(xs, ys, validation_data=(xs, ys), epochs=1, verbose=0)
        return time.perf_counter() - start

    short = min(first_fit(2) for _ in range(2))
    deep = min(first_fit(10) for _ in range(2))
    per_layer = max((deep - short) / 8, 0.005)
    return max(short - 2 * per_layer, 0.05), per_layer


def load_check() -> float:
    """Seconds of one short epoch of a tiny dense model (32 steps of 8 per call, as trials train;
    median of 3 after a tracing fit): how fast this machine trains now. Stored with the probe, so a
    cached probe is scaled by the load at sweep start (on 2 cores the same epoch takes 1x-4x with 0-4
    other busy processes, and the probe is measured once per machine)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1024, 64)).astype(np.float32)
    y = rng.integers(0, 4, 1024)
    model = _dense(64, [16])
    model.fit(x[:64], y[:64], epochs=1, verbose=0)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def format_duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m}m {s}s" if h else f"{m}m {s}s"


def _machine_cache() -> Path:
    import os
    import platform

    root = Path(os.environ.get("TUNER_CACHE", Path.home() / ".cache" / "tinyml-tuner"))
    return root / f"host-{platform.node()}-{os.cpu_count()}.json"


# 4: the training state (optimizer, metrics) built before the fit, as trials now are (one trace of the
# train step, not two);
# 3: TensorFlow ops on one thread, as sweeps now train (tuner.threads); 2: one pair of fits per
# coefficient and the per-step cost of conv layers; 1: dense fits solved together
PROBE_VERSION = 4
# A cached probe is scaled by at most this factor either way (a check disturbed by a burst of load)
MAX_LOAD_SCALE = 8.0
_NOW: dict[str, tuple[float, HostThroughput]] = {}  # one load check per sweep start ...
NOW_TTL_S = 60.0  # ... reused this long (a Python session running sweeps one after another checks again)


def machine_host(measure: bool = True) -> HostThroughput:
    """This machine's measured throughput, scaled to the load now: the probe (15-25 s) runs once
    and is kept in `$TUNER_CACHE/host-<hostname>-<cores>.json`, so a sweep does not pay it every
    time; a one-second `load_check` then scales it by how much slower (or faster) the machine trains
    now than when the probe ran. Under a file lock, so parallel workers measure once.

    `measure=False` (no training-time budget to check): when this machine has no probe yet, the
    reference probe (`reference_host`) scaled by the load check instead of 15-25 s of probing; the
    sweep's trials then fit their own factors (`TrainingTimeModel`)."""
    import fcntl

    path = _machine_cache()
    key = str(path)
    if key in _NOW and time.monotonic() - _NOW[key][0] < NOW_TTL_S:
        return _NOW[key][1]
    host = _cached_probe(path)
    if host is None and not measure:
        ref = reference_host()
        return ref.scaled(load_check() / float(ref.check_s or 1.0))  # not kept: a probe may come later
    if host is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            host = _cached_probe(path)  # another worker may have measured it meanwhile
            if host is None:  # just measured: nothing to scale
                host = measure_host()
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                host.save(tmp)
                tmp.replace(path)
                _NOW[key] = (time.monotonic(), host)
                return host
    ratio = load_check() / float(host.check_s or 1.0)
    _NOW[key] = (time.monotonic(), host.scaled(min(max(ratio, 1 / MAX_LOAD_SCALE), MAX_LOAD_SCALE)))
    return _NOW[key][1]


REFERENCE = PACKAGE_DATA / "host_reference.json"


def reference_host() -> HostThroughput:
    """The development machine's probe, every coefficient divided by its load check (`check_s` 1):
    `scaled(load_check())` gives this machine's figures as far as a one-second check can tell. On
    that machine's recorded sweeps it estimated as well as each sweep's own probe (sixth round,
    docs/engines.md); on other machines the relative costs (MACs against steps) may differ, which
    each family's factor corrects after its first trial."""
    return HostThroughput.load(REFERENCE)


def probe_pending() -> bool:
    """True when this machine's throughput has not been measured yet (the next sweep measures it)."""
    return _cached_probe(_machine_cache()) is None


def _cached_probe(path: Path) -> HostThroughput | None:
    """The machine's cached probe; None when there is none, it is older than the load check or it was
    measured by an older design of `measure_host` (`PROBE_VERSION`)."""
    if not path.exists():
        return None
    host = HostThroughput.load(path)
    return host if host.check_s is not None and host.probe >= PROBE_VERSION else None


def refreshed_host(folder: Path, measure: bool = True) -> HostThroughput:
    """This host's throughput for a sweep: the machine's measurement (`machine_host`; `measure`
    False: the reference probe when this machine has none), copied to `results/<name>/host.json` on
    first use (a resumed sweep keeps the figures it started with)."""
    path = folder / "host.json"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        machine_host(measure).save(path)
    return HostThroughput.load(path)


@dataclass(frozen=True)
class TrainCost:
    """What the training time of one candidate depends on (all known before training)."""

    family: str
    macs: int  # forward MACs per sample
    n_train: int
    n_val: int
    batch_size: int
    dw_macs: int = 0
    bn_elems: int = 0
    n_layers: int = 10
    conv_layers: int = 0


@dataclass(frozen=True)
class Observed:
    """A finished (or pruned) trial: its cost and what training really took."""

    cost: TrainCost
    epochs_run: int
    train_seconds: float
    epoch_seconds: float  # median of the epochs after the first (steady state)
    compile_seconds: float  # first epoch minus a steady one: tracing and compilation
    planned_epochs: int = 0  # the schedule's planned epochs (0: not recorded)
    pruned: bool = False  # stopped by the pruner: its epochs say nothing of when training ends


@dataclass(frozen=True)
class TrainEstimate:
    """Training-time estimate of one candidate: `seconds` for all planned epochs (the figure the
    `--max-train-minutes` gate uses), with its band, and `expected_epochs`: the epochs it will run
    as the sweep's earlier trials ran theirs (early stopping ends sooner, training on while still
    improving later: tuner.schedule)."""

    seconds: float
    low: float
    high: float
    compile_seconds: float
    epoch_seconds: float
    epochs: int
    source: str
    expected_epochs: float = 0.0  # 0: the planned epochs
    expected_band: float = 0.0  # x band of `expected_seconds` (0: the planned figure's)

    def for_epochs(self, epochs: float) -> float:
        return self.compile_seconds + epochs * self.epoch_seconds

    @property
    def expected_seconds(self) -> float:
        """One training at the expected epochs: the estimate to compare with `train_seconds`."""
        return self.for_epochs(self.expected_epochs or self.epochs)

    @property
    def expected_range(self) -> tuple[float, float]:
        band = self.expected_band or self.high / self.seconds
        return self.expected_seconds / band, self.expected_seconds * band

    @property
    def band(self) -> tuple[float, float]:
        return self.low / self.seconds, self.high / self.seconds


PRIOR_BAND = 2.0  # before any trial of the family: x0.5-x2
MIN_BAND = 1.25
SHRINK = 2.0  # weight (in trials) of the all-families factor in a family's factor
# The expected epochs are the centre of the densest x1.5-either-way window of the earlier trials'
# epochs-run / planned ratios: a hit is an estimate within x1.5, and those ratios are spread wide
# and lopsided (patience stops some at 0.4x their plan, others train on to 2-3x), so their mean
# or median often falls between the clusters. Chosen on the sixth round's 41 recorded sweeps
# (512 trials, epochs alone within x1.5: weighted mean 63%, median 63%, densest window 68%) and
# scored on the fifth session's 15 (229 trials: 57% / 64% / 63%): docs/engines.md.
EPOCH_WINDOW = math.log(1.5)
# A trial's weight in the factors halves every HALF_LIFE later trials: on a shared machine the load
# drifts during a sweep (the same candidate's epoch took 1.0-2.4 s in one sweep under load 15), so
# the latest trials say more about the next one. 3: chosen on the older domain sweeps (dom-old,
# 73 trials: 51% -> 59% within x1.5), scored on the others (64% -> 65%): docs/engines.md.
HALF_LIFE = 3.0
# Before any trial, tracing = the probe's first-fit time x GRAPHS_TRACED: the probe's fit traces the
# training step only, a trial's fit also traces the validation step (validation_data every epoch).
GRAPHS_TRACED = 2


def densest_centre(values: list[float], half_width: float) -> float:
    """Centre of the window of width 2 x `half_width` holding the most values (the midpoint of the
    ones it holds); of equally full windows, the one nearest the median."""
    v = sorted(values)
    median = float(np.median(v))
    best: tuple[tuple[int, float], float] | None = None
    for i, low in enumerate(v):
        j = i
        while j + 1 < len(v) and v[j + 1] - low <= 2 * half_width + 1e-12:
            j += 1
        centre = (low + v[j]) / 2
        key = (j - i + 1, -abs(centre - median))
        if best is None or key > best[0]:
            best = (key, centre)
    assert best is not None, "no values"
    return best[1]


def _recency(n: int) -> list[float]:
    """Weights of n trials in trial order (oldest first): halving every HALF_LIFE later trials."""
    return [0.5 ** ((n - 1 - i) / HALF_LIFE) for i in range(n)]


class TrainingTimeModel:
    """Host formula (`HostThroughput`) plus validation per epoch, times a per-family factor fitted
    on the steady epochs of that family's trials (shrunk toward the all-families factor when the
    family has few; recent trials weigh more, `HALF_LIFE`), plus tracing per model fitted on the
    trials' first-epoch excess (before any: the probe's, for `GRAPHS_TRACED` graphs)."""

    def __init__(self, host: HostThroughput, observed: list[Observed] | tuple[Observed, ...] = ()) -> None:
        self.observed = [o for o in observed if o.epoch_seconds > 0 and o.epochs_run > 0]
        self.host = host
        logs: dict[str, list[tuple[float, float]]] = {}  # family -> (log factor, recency weight)
        for o, weight in zip(self.observed, _recency(len(self.observed)), strict=True):
            logs.setdefault(o.cost.family, []).append((math.log(o.epoch_seconds / self._prior_epoch(o.cost)), weight))
        every = [p for ps in logs.values() for p in ps]
        self.global_log = sum(v * w for v, w in every) / sum(w for _, w in every) if every else 0.0
        self.family_log = {
            f: (sum(v * w for v, w in ps) + SHRINK * self.global_log) / (sum(w for _, w in ps) + SHRINK)
            for f, ps in logs.items()
        }
        resid = [v - self.family_log[f] for f, ps in logs.items() for v, _ in ps]
        self.spread = float(np.sqrt(np.mean(np.square(resid)))) if len(resid) >= 3 else None
        self.compile = self._fit_compile()
        self.epochs_log, self.epochs_spread = self._fit_epochs()

    def _fit_epochs(self) -> tuple[float, float | None]:
        """Log of (epochs run / planned) expected for the next trial: the centre of the densest
        EPOCH_WINDOW-either-way window over the sweep's trials that ended on their own (not pruned;
        a tie goes to the window nearest their median), and the spread around it (from 3 trials)."""
        done = [o for o in self.observed if o.planned_epochs > 0 and not o.pruned]
        logs = [math.log(o.epochs_run / o.planned_epochs) for o in done]
        if not logs:
            return 0.0, None
        centre = densest_centre(logs, EPOCH_WINDOW)
        spread = float(np.sqrt(np.mean([(v - centre) ** 2 for v in logs]))) if len(logs) >= 3 else None
        return centre, spread

    def _prior_epoch(self, c: TrainCost) -> float:
        train = self.host.epoch_seconds(c.macs, c.n_train, c.batch_size, c.dw_macs, c.bn_elems, c.conv_layers)
        val = c.n_val * self.host.per_sample_seconds(c.macs, c.dw_macs, c.bn_elems) / 3
        return max(train + val, 1e-3)

    def _fit_compile(self) -> tuple[float, float]:
        """(base, per layer) seconds of tracing, least squares on observed trials (prior below 3)."""
        pts = [(o.cost.n_layers, o.compile_seconds) for o in self.observed if o.compile_seconds > 0]
        graphs = GRAPHS_TRACED / max(self.host.compile_graphs, 1)
        prior = (self.host.compile_s * graphs, self.host.compile_layer_s * graphs)
        if len(pts) < 3 or len({n for n, _ in pts}) < 2:
            if pts:  # scale the prior to what was seen
                k = float(np.median([c / (prior[0] + prior[1] * n) for n, c in pts]))
                return prior[0] * k, prior[1] * k
            return prior
        from scipy.optimize import nnls

        a = np.array([[1.0, n] for n, _ in pts])
        coef, _ = nnls(a, np.array([c for _, c in pts]))
        return float(coef[0]), float(coef[1])

    def estimate(self, cost: TrainCost, epochs: int) -> TrainEstimate:
        log_f = self.family_log.get(cost.family, self.global_log)
        epoch_s = self._prior_epoch(cost) * math.exp(log_f)
        compile_s = self.compile[0] + self.compile[1] * cost.n_layers
        seconds = compile_s + epochs * epoch_s
        n_family = sum(1 for o in self.observed if o.cost.family == cost.family)
        if n_family == 0 or self.spread is None:
            band = PRIOR_BAND
            source = "reference probe" if self.host.source.startswith("reference") else "host measurement"
            if self.observed:
                source += f" scaled on {len(self.observed)} trials"
        else:
            band = max(MIN_BAND, math.exp(2 * self.spread))
            source = f"fitted on {n_family} {cost.family} trials ({len(self.observed)} in all)"
        expected = max(1.0, epochs * math.exp(self.epochs_log))
        if self.epochs_spread is None:
            expected_band = band
        else:  # the epoch factor's and the epochs' spreads, independent
            expected_band = max(MIN_BAND, math.exp(2 * math.hypot(math.log(band) / 2, self.epochs_spread)))
        return TrainEstimate(
            seconds, seconds / band, seconds * band, compile_s, epoch_s, epochs, source, expected, expected_band
        )


def observed_from_attrs(attrs: dict[str, Any]) -> Observed | None:
    """An `Observed` from a trial's stored attributes (None when it did not train)."""
    times = attrs.get("epoch_seconds") or []
    if not attrs.get("train_seconds") or not times or not attrs.get("n_train") or attrs.get("macs") is None:
        return None
    if "duplicate_of" in attrs:
        return None
    cand = attrs.get("candidate", {})
    steady = float(np.median(times[1:])) if len(times) > 1 else float(times[0])
    compile_s = max(float(times[0]) - steady, 0.0) if len(times) > 1 else 0.0
    cost = TrainCost(
        family=str(cand.get("family", "")),
        macs=int(attrs["macs"]),
        n_train=int(attrs["n_train"]),
        n_val=int(attrs.get("n_val") or 0),
        batch_size=int(cand.get("batch_size", 32)),
        dw_macs=int(attrs.get("dw_macs") or 0),
        bn_elems=int(attrs.get("bn_elems") or 0),
        n_layers=int(attrs.get("n_layers") or 10),
        conv_layers=int(attrs.get("conv_layers") or 0),
    )
    planned = int(attrs.get("max_epochs_used") or 0)
    pruned = attrs.get("state") == "pruned"
    return Observed(cost, len(times), float(attrs["train_seconds"]), steady, compile_s, planned, pruned)
