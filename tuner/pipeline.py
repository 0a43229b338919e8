"""One candidate through the pipeline: preprocess -> build -> pre-check -> train -> int8 -> evaluate -> estimate.

Used by the sweep for every trial and by `retrain` for an exported config, so both run the same code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tuner.budgets import Budgets
from tuner.data import Dataset, load_data, split
from tuner.errors import CandidateFailed, CandidateRejected, InputError
from tuner.estimate.training_time import (
    HostThroughput,
    TrainCost,
    TrainEstimate,
    TrainingTimeModel,
    format_duration,
)
from tuner.models import is_model_param

Event = Callable[..., None]


@dataclass
class Problem:
    """Everything fixed for a sweep: data splits, target, budgets, seed, host throughput."""

    data_source: str
    train: Dataset
    val: Dataset
    test: Dataset
    target: Any  # tuner.targets.Target
    budgets: Budgets
    seed: int = 0
    epochs: int | None = None  # overrides the space's `epochs`
    host: HostThroughput | None = None
    time_model: TrainingTimeModel | None = None  # the sweep's, refitted on its trials; else from `host`
    _features: dict[str, Any] = field(default_factory=dict)
    _prechecks: dict[str, dict[str, Any]] = field(default_factory=dict)
    metric: str = "accuracy"  # ranks candidates (tuner.metrics); early stopping and pruning watch it
    class_weight: dict[int, float] | None = None  # balanced weights for imbalanced classes
    folds: list[Problem] = field(default_factory=list)  # cross-validation folds 2..K (small data)

    @classmethod
    def from_source(
        cls,
        data: str,
        target: Any,
        budgets: Budgets,
        seed: int = 0,
        epochs: int | None = None,
        domain: str = "",
        rate_hz: float | None = None,
    ) -> Problem:
        ds = load_data(data, domain=domain, rate_hz=rate_hz)  # refuses data the space's domain cannot take
        train, val, test = split(ds, seed=seed)
        return cls(data, train, val, test, target, budgets, seed, epochs)

    def configure(self, metric: str = "accuracy", class_weight: str = "auto", repeats: int | None = None) -> Problem:
        """Ranking metric, class weights ("auto": balanced when imbalanced, "balanced", "none") and
        cross-validation folds (`repeats`; None: `validation_folds` decides) for this data.

        With 2+ folds the pool (train + validation) is cut into grouped, stratified folds
        (tuner.data.cv_folds): this problem's train/validation become fold 1 (what the first
        training, the one exported and tested, uses) and `folds` holds folds 2..K."""
        from tuner.data import cv_folds
        from tuner.metrics import balanced_class_weights

        self.metric = metric
        k = validation_folds(len(self.val)) if repeats is None else repeats
        self.folds = []
        cv = cv_folds(self.train, self.val, k, seed=self.seed) if k > 1 else []
        if cv:
            (self.train, self.val), self._features = cv[0], {}
        n = len(self.class_names)
        if class_weight == "auto":
            self.class_weight = balanced_class_weights(self.train.y, n)
        else:
            self.class_weight = (
                balanced_class_weights(self.train.y, n, ratio=1.0) if class_weight == "balanced" else None
            )
        self.folds = [self._fold(train, val) for train, val in cv[1:]]
        return self

    def _fold(self, train: Dataset, val: Dataset) -> Problem:
        # a fold only scores its validation split: no test features per candidate and fold, and the
        # test split is not copied into every fold process's pickle
        return Problem(
            self.data_source,
            train,
            val,
            self.test.subset(np.arange(0)),
            self.target,
            self.budgets,
            self.seed,
            self.epochs,
            metric=self.metric,
            class_weight=self.class_weight,
        )

    @property
    def validation_note(self) -> str:
        """How the ranking score is validated, for sweep.yaml and the docs."""
        what = "samples (whole subjects)" if self.train.groups is not None else "samples"
        if not self.folds:
            return (
                f"one validation split ({len(self.val)} {what}, {len(self.train)} for training); "
                f"the test split ({len(self.test)}) is only reported"
            )
        k = len(self.folds) + 1
        pool = len(self.train) + len(self.val)
        groups = [g for g in (self.train.groups, self.val.groups) if g is not None]
        n_groups = len(np.unique(np.concatenate(groups))) if len(groups) == 2 else 0
        how, unit = ("grouped stratified", "subject") if n_groups >= 3 else ("stratified", "sample")
        units = f"whole subjects, {n_groups}; " if n_groups >= 3 else ""
        return (
            f"{k}-fold {how} cross-validation over a pool of {pool} samples ({units}train + validation): "
            f"the ranking score is the mean {self.metric} over the {k} validation folds, every {unit} "
            f"in exactly one; fold 1 ({len(self.val)} validation, {len(self.train)} training) trains the "
            f"model that is exported and tested; the test split ({len(self.test)}) is only reported; "
            f"the search learns from fold 1; after it, folds 2-{k} train (for the epochs fold 1's early "
            f"stopping kept, without validating each epoch) only the candidates within the budgets that "
            f"can still rank first, best first, while their mean so far is within {DRAW_MARGIN} of the "
            f"best mean over all {k} folds (the winner always has all {k})"
        )

    @property
    def class_weight_note(self) -> str:
        if not self.class_weight:
            return "none (classes about balanced)"
        w = ", ".join(f"{self.class_names[c]} {v:.2f}" for c, v in self.class_weight.items())
        return f"balanced (n / (classes x count)): {w}"

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.train.class_names

    def features(self, params: dict[str, Any]) -> tuple[Any, dict[str, np.ndarray]]:
        """Fitted preprocessor and features of every split, cached per preprocessing setting."""
        from tuner.preprocess import build_preprocessor

        pre = build_preprocessor(params, self.train)
        key = json.dumps({k: v for k, v in params.items() if not is_model_param(k)}, sort_keys=True, default=str)
        if key not in self._features:
            # training windows at the candidate's stride, features computed once for fit and
            # transform (fit_transform_train); evaluation ones at one fixed hop
            fit_transform = getattr(pre, "fit_transform_train", None)
            if fit_transform is not None:
                out = {"train": fit_transform(self.train)}
            else:
                pre.fit(self.train)
                out = {"train": pre.transform(self.train)}
            for name, ds in (("val", self.val), ("test", self.test)):
                if len(ds):  # a fold's test split is empty (`_fold`)
                    out[name] = pre.transform(ds)
            self._features[key] = (pre.state(), out)
            _evict(self._features, FEATURE_CACHE_BYTES)
        self._features[key] = self._features.pop(key)  # most recently used last
        state, out = self._features[key]
        pre.load_state(state)
        return pre, out


# Feature sets kept per sweep: the DSP blocks take 0.3-20 s per setting on 2 busy cores (motion's
# spectral features), and samplers come back to a setting often; kept while under this size.
FEATURE_CACHE_BYTES = 512 << 20


def _evict(cache: dict[str, Any], limit: int) -> None:
    """Drop least recently used feature sets (first in the dict) until under `limit` bytes; keep the newest."""

    def size(entry: Any) -> int:
        return sum(int(getattr(a, "nbytes", 0)) for split in entry[1].values() for a in split)

    while len(cache) > 1 and sum(size(v) for v in cache.values()) > limit:
        cache.pop(next(iter(cache)))


# Fewer validation samples (recordings, images, rows) than this: the ranking score is the mean over
# FOLDS cross-validation folds of the pool (a winner picked on a dozen samples is picked by luck).
# 5: each fold trains on 80 % of the pool, as the seeded split's 20 % validation does, so the
# exported model (fold 1) trains on as much data as without cross-validation, and every pool
# sample is validated once; 10 folds would double the trainings for 10 % more training data.
SMALL_VALIDATION = 20
FOLDS = 5


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on this platform
        return None


def validation_folds(n_val: int) -> int:
    return FOLDS if n_val < SMALL_VALIDATION else 1


# Folds 2..K are paid only by candidates that can still win (tuner.sweep.final_ranking, after the
# search): fold k+1 runs while the mean of the first k is at least the best complete mean so far minus
# DRAW_MARGIN. A candidate stopped earlier keeps that mean, which is below the best (and the best only
# rises), so it never ranks first: the winner's score is always the mean of every fold. 0.1: about the
# largest gap between draw 1 and the 3-draw mean on issue 12's small-data sweeps with 3 random draws
# (0.109; 95th percentile 0.04).
DRAW_MARGIN = 0.1


def more_draws(scores: list[float], bar: float | None, margin: float = DRAW_MARGIN) -> bool:
    """Whether a candidate with these validation scores so far can still reach `bar` (None: no
    candidate has every fold yet, always)."""
    return bar is None or float(np.mean(scores)) >= bar - margin


@dataclass
class CandidateResult:
    state: str  # "feasible" | "rejected"
    reason: str
    metrics: dict[str, Any]
    estimate: dict[str, Any]
    tflite: bytes | None = None
    model: Any = None
    preprocess_state: dict[str, Any] | None = None


def _accuracy_and_confusion(probs: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, list[list[int]]]:
    pred = probs.argmax(axis=1)
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (y, pred), 1)
    return float((pred == y).mean()), cm.tolist()


# Parameters that change training but not the int8 graph (dropout is removed at inference): the
# untrained pre-check conversion is shared by candidates that differ only in these.
TRAINING_ONLY_KEYS = {"learning_rate", "dropout", "epochs", "batch_size", "patience", "optimizer"}


def _predict_float(model: Any, x: np.ndarray, batch: int | None = None) -> np.ndarray:
    """Class probabilities from direct calls: `model.predict` first traces a predict function
    (~0.5 s per model on 2 cores) that is used once. Batches of about 1M input values, 256-2048
    samples: each eager call costs ~15 ms, and larger batches of images are slower (cache)."""
    if not len(x):
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    if batch is None:
        batch = max(256, min(2048, (1 << 20) // max(1, int(np.prod(x.shape[1:])))))
    return np.concatenate([np.asarray(model(x[i : i + batch], training=False)) for i in range(0, len(x), batch)])


def precheck(
    model: Any, x_train: np.ndarray, problem: Problem, dsp: Any, params: dict[str, Any], n_val: int = 0
) -> tuple[dict[str, Any], TrainEstimate]:
    """Fast estimate of the untrained int8 model plus the training-time estimate; raise if over budget.

    The conversion and estimate are cached per architecture and input shape: a few ms instead of
    0.1-3 s when the sampler proposes an architecture again with other training settings."""
    from tuner.estimate import estimate_tflite
    from tuner.quantize import to_int8

    key = json.dumps(
        [{k: v for k, v in params.items() if k not in TRAINING_ONLY_KEYS}, list(model.input_shape[1:])],
        sort_keys=True,
        default=str,
    )
    if key not in problem._prechecks:
        tfl = to_int8(model, x_train, n_samples=8, seed=problem.seed)
        est = estimate_tflite(tfl, problem.target, dsp=dsp, exact=False)
        dw_macs = sum(layer.macs for layer in est.layers if layer.op == "DEPTHWISE_CONV_2D")
        problem._prechecks[key] = {
            **est.to_dict(),
            "dw_macs": dw_macs,
            "bn_elems": _batchnorm_elements(model),
            "n_layers": sum(1 for _ in model._flatten_layers(include_self=False)),
            "conv_layers": _conv_layers(model),
        }
    est = problem._prechecks[key]
    from tuner.schedule import candidate_schedule

    # the epochs and batch training will use (small data: more epochs, smaller batches)
    plan = candidate_schedule(params, len(x_train), problem.epochs)
    epochs = plan.epochs
    cost = TrainCost(
        family=str(params.get("family", "")),
        macs=int(est["macs"]),
        n_train=len(x_train),
        n_val=int(n_val),
        batch_size=plan.batch_size,
        dw_macs=int(est["dw_macs"]),
        bn_elems=int(est["bn_elems"]),
        n_layers=int(est["n_layers"]),
        conv_layers=int(est["conv_layers"]),
    )
    model_t = problem.time_model or TrainingTimeModel(
        problem.host or HostThroughput(0.05, 1e-3, 1e-9, source="default")
    )
    train = model_t.estimate(cost, epochs)
    draws = 1 + len(problem.folds)  # cross-validation trains once per fold
    if draws > 1:
        train = dataclasses.replace(
            train, seconds=train.seconds * draws, low=train.low * draws, high=train.high * draws
        )
    return est, train


def train_time_message(reasons: list[str], train: TrainEstimate) -> list[str]:
    """The training-time rejection says the estimate's band and what it rests on."""
    shown = f"({format_duration(train.seconds)})"
    band = f"({format_duration(train.seconds)}; band {format_duration(train.low)}-{format_duration(train.high)}"
    band += f", {train.source})"
    return [r.replace(shown, band, 1) if r.startswith("Estimated training time") else r for r in reasons]


class StageTimer:
    """Seconds per pipeline stage, filled as the candidate goes (kept by the caller, so a rejected,
    pruned or failed candidate still has the stages it went through)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def _conv_layers(model: Any) -> int:
    """Convolution layers (1-D, 2-D, depthwise, separable): each adds a fixed cost to every training step."""
    import keras

    kinds = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    return sum(1 for layer in model._flatten_layers(include_self=False) if isinstance(layer, kinds))


def _batchnorm_elements(model: Any) -> int:
    """Activation elements per sample that go through BatchNormalization (costly to train on CPU)."""
    import keras

    total = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            total += int(np.prod(layer.output.shape[1:]))
    return total


@dataclass
class PostJob:
    """What the int8 conversion, the evaluations and the exact estimate of a trained candidate need,
    picklable: they can run in another process (tuner.sweep.post_pool) while the next candidate
    trains, from the weights, with the same results as here."""

    n_classes: int
    seed: int
    weights: list[np.ndarray] | None  # None: the live model is passed to post_stages
    rows: np.ndarray  # the calibration rows (tuner.quantize.calibration_rows)
    x_va: np.ndarray
    y_va: np.ndarray
    x_te: np.ndarray
    y_te: np.ndarray
    metric: str
    target: Any
    dsp: Any
    model_json: str = ""  # the model's Keras config: rebuilt with the same layer names


@dataclass
class Trained:
    """A candidate after its training, before its int8 conversion and evaluation (finish_candidate)."""

    model: Any
    job: PostJob
    base_metrics: dict[str, Any]
    result: Any  # tuner.train.TrainResult
    preprocess_state: dict[str, Any] | None
    stages: StageTimer


def post_stages(model: Any, job: PostJob) -> dict[str, Any]:
    """int8 conversion, the validation score, float and int8 test evaluation and the exact estimate.
    `model`: the trained Keras model (None: rebuilt from `job.weights`). Returns what
    finish_candidate needs, with the seconds of each stage; raises CandidateFailed."""
    from tuner.estimate import estimate_tflite
    from tuner.metrics import score
    from tuner.quantize import predict_int8, to_int8

    timed = StageTimer()
    if model is None:
        import keras

        with timed("rebuild"):
            model = keras.models.model_from_json(job.model_json)
            model.set_weights(job.weights)
    n = job.n_classes
    with timed("int8_convert"):
        tflite = to_int8(model, job.rows, n_samples=len(job.rows), seed=job.seed, rows_chosen=True)
    with timed("validation"):  # the ranking score: int8 on validation (more folds on small data: later)
        val_scores = [score(job.y_va, predict_int8(tflite, job.x_va).argmax(axis=1), n, job.metric)]
    with timed("eval_float"):
        float_acc, float_cm = _accuracy_and_confusion(_predict_float(model, job.x_te), job.y_te, n)
    with timed("eval_int8"):
        int8_acc, int8_cm = _accuracy_and_confusion(predict_int8(tflite, job.x_te), job.y_te, n)
    if not np.isfinite(float_acc):
        raise CandidateFailed("evaluation produced NaN")
    with timed("estimate_exact"):
        est = estimate_tflite(tflite, job.target, dsp=job.dsp, exact=True).to_dict()
    return {
        "tflite": tflite,
        "val_scores": val_scores,
        "float": (float_acc, float_cm),
        "int8": (int8_acc, int8_cm),
        "estimate": est,
        "stage_seconds": timed.seconds,
    }


def run_candidate(
    params: dict[str, Any],
    problem: Problem,
    on_event: Event | None = None,
    on_epoch: Callable | None = None,
    stages: StageTimer | None = None,
) -> CandidateResult:
    """Run one candidate. Raises CandidateRejected (over budget, before training) or CandidateFailed."""
    trained = train_candidate(params, problem, on_event, on_epoch, stages)
    emit = on_event or (lambda *a, **k: None)
    emit("stage", stage="int8")
    return finish_candidate(trained, post_stages(trained.model, trained.job), problem)


def train_candidate(
    params: dict[str, Any],
    problem: Problem,
    on_event: Event | None = None,
    on_epoch: Callable | None = None,
    stages: StageTimer | None = None,
) -> Trained:
    """A candidate up to its training. Raises CandidateRejected (over budget, before training) or
    CandidateFailed."""
    from tuner.models import build_model
    from tuner.quantize import calibration_rows

    emit = on_event or (lambda *a, **k: None)
    timed = stages if stages is not None else StageTimer()
    emit("stage", stage="preprocess")
    try:
        with timed("features"):
            pre, feats = problem.features(params)
        with timed("build"):
            model = build_model(params, pre.input_shape, len(problem.class_names), seed=problem.seed)
    except InputError as exc:  # a combination the space allows but the data cannot (e.g. FFT > window)
        raise CandidateRejected(f"invalid candidate: {exc}") from exc
    (x_tr, _), (x_va, y_va), (x_te, y_te) = feats["train"], feats["val"], feats["test"]
    dsp = pre.cost()
    emit("stage", stage="pre-check")
    with timed("precheck"):
        pre_est, train_est = precheck(model, x_tr, problem, dsp, params, n_val=len(x_va))
    est_train_s = train_est.seconds
    reasons = problem.budgets.violations(
        pre_est["latency_ms"], pre_est["ram_bytes"], pre_est["flash_bytes"], est_train_s
    )
    base_metrics = {
        "est_train_seconds": est_train_s,
        "est_train_seconds_low": train_est.low,
        "est_train_seconds_high": train_est.high,
        # one training at the epochs the sweep's trials ran (what `train_seconds` measures), with its
        # band; est_train_seconds is the gate's figure: planned epochs, every validation draw
        "est_fit_seconds": train_est.expected_seconds,
        "est_fit_seconds_low": train_est.expected_range[0],
        "est_fit_seconds_high": train_est.expected_range[1],
        "est_epochs": train_est.expected_epochs,
        "est_epoch_seconds": train_est.epoch_seconds,
        "est_compile_seconds": train_est.compile_seconds,
        "est_train_source": train_est.source,
        "precheck_seconds": timed.seconds["precheck"],
        "precheck_estimate": {k: v for k, v in pre_est.items() if k != "layers"},
        "n_train": int(len(x_tr)),
        "n_val": int(len(x_va)),
        "n_test": int(len(x_te)),
        "dw_macs": int(pre_est["dw_macs"]),
        "bn_elems": int(pre_est["bn_elems"]),
        "n_layers": int(pre_est["n_layers"]),
        "conv_layers": int(pre_est["conv_layers"]),
        "input_shape": list(pre.input_shape),
        # 1-minute load average before and after training: lets the training-time estimate be judged under load
        "load_average": [_load_average()],
    }
    if reasons:
        margins = problem.budgets.margins(
            pre_est["latency_ms"], pre_est["ram_bytes"], pre_est["flash_bytes"], est_train_s
        )
        flat = {k: pre_est[k] for k in ("latency_ms", "ram_bytes", "flash_bytes", "macs") if k in pre_est}
        raise CandidateRejected(
            "; ".join(train_time_message(reasons, train_est)),
            margins,
            {**flat, **{k: v for k, v in base_metrics.items() if k.startswith("est_")}, "stage_seconds": timed.seconds},
        )

    keep = ("n_train", "n_val", "est_train_seconds_low", "est_train_seconds_high", "est_epoch_seconds")
    keep += ("est_compile_seconds", "est_train_source", "est_fit_seconds", "est_fit_seconds_low")
    keep += ("est_fit_seconds_high", "est_epochs")
    emit("precheck", estimate=pre_est, est_train_seconds=est_train_s, metrics={k: base_metrics[k] for k in keep})
    emit("stage", stage="train")
    fit_limit = fit_seconds_limit(problem)
    with timed("fit"):
        result = _train(model, feats, params, problem, on_epoch, fit_limit)

    job = PostJob(
        n_classes=len(problem.class_names),
        seed=problem.seed,
        weights=None,
        rows=calibration_rows(x_tr, seed=problem.seed),
        x_va=x_va,
        y_va=y_va,
        x_te=x_te,
        y_te=y_te,
        metric=problem.metric,
        target=problem.target,
        dsp=dsp,
    )
    return Trained(model, job, base_metrics, result, pre.state(), timed)


def finish_candidate(trained: Trained, post: dict[str, Any], problem: Problem) -> CandidateResult:
    """The candidate's result from its training and its post_stages (run here or in another process)."""
    from tuner.metrics import recalls, scores

    result, base_metrics = trained.result, trained.base_metrics
    timed = trained.stages
    for k, v in post["stage_seconds"].items():
        timed.seconds[k] = timed.seconds.get(k, 0.0) + v
    tflite, est, val_scores = post["tflite"], post["estimate"], post["val_scores"]
    (float_acc, float_cm), (int8_acc, int8_cm) = post["float"], post["int8"]
    int8_scores = scores(int8_cm)
    metrics = {
        **base_metrics,
        "float_accuracy": float_acc,
        "int8_accuracy": int8_acc,
        "int8_drop": float_acc - int8_acc,
        "float_confusion": float_cm,
        "int8_confusion": int8_cm,
        "train_seconds": result.train_seconds,
        "epoch_seconds": result.epoch_seconds,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "extended_epochs": result.extended_epochs,  # beyond max_epochs_used (the planned), up to epoch_cap_used
        "extension_stopped_by": result.extension_stopped_by,  # "", "time limit" or the pruning rule's reason
        "history": result.history,
        "class_names": list(problem.class_names),
        "stage_seconds": timed.seconds,  # the same dict: `write` is added by save_artifacts
        # test split: every metric; validation: the ranking score (mean over folds), never the test
        "int8_balanced_accuracy": int8_scores["balanced_accuracy"],
        "int8_macro_f1": int8_scores["macro_f1"],
        "float_balanced_accuracy": scores(float_cm)["balanced_accuracy"],
        "int8_recall": dict(zip(problem.class_names, recalls(int8_cm), strict=True)),
        "val_score": float(np.mean(val_scores)),
        "val_scores": val_scores,  # fold 1; the final ranking keeps folds 2..K in the study
        "metric": problem.metric,
        **(result.plan or {}),
    }
    over = problem.budgets.violations(est["latency_ms"], est["ram_bytes"], est["flash_bytes"], 0.0)
    state, reason = ("rejected", "; ".join(over)) if over else ("feasible", "")
    # folds 2..K (small data) run after the search, for the candidates that can still rank first
    # (tuner.sweep.final_ranking); the sampler learns from this first training's score
    metrics["val_draws"] = len(val_scores)
    metrics["load_average"] = [*base_metrics["load_average"], _load_average()]
    return CandidateResult(state, reason, metrics, est, tflite, trained.model, trained.preprocess_state)


def fit_seconds_limit(problem: Problem) -> float | None:
    """Seconds one training of a candidate may take, extension included: the training-time budget
    shared by the validation folds, as the pre-check's estimate is (None: no budget)."""
    limit = problem.budgets.train_seconds
    return limit / (1 + len(problem.folds)) if limit else None


def _train(
    model: Any,
    feats: dict[str, Any],
    params: dict[str, Any],
    problem: Problem,
    on_epoch: Any = None,
    seconds_limit: float | None = None,
    fixed_epochs: int | None = None,
    compiled: bool = False,
) -> Any:
    """Train on `problem`'s train split with its settings: every fold is trained alike.
    `fixed_epochs`: exactly that many epochs, no validation pass, no early stopping."""
    from tuner.train import train

    (x_tr, y_tr), (x_va, y_va) = feats["train"], feats["val"]
    return train(
        model,
        x_tr,
        y_tr,
        x_va,
        y_va,
        params,
        seed=problem.seed,
        on_epoch=on_epoch,
        epochs=max(1, fixed_epochs) if fixed_epochs is not None else problem.epochs,
        metric=problem.metric,
        class_weight=problem.class_weight,
        seconds_limit=seconds_limit,
        validate=fixed_epochs is None,
        compiled=compiled,
    )


def fold_score(
    params: dict[str, Any],
    fold: Problem,
    seconds_limit: float | None = None,
    epochs: int | None = None,
    keep: dict[str, Any] | None = None,
) -> tuple[float, float]:
    """The int8 validation metric of the candidate trained on another cross-validation fold, and
    the seconds of that training (`fit`).

    `epochs`: the epoch fold 1's early stopping kept. The fold trains exactly that long, without
    validating each epoch: its validation split then only scores the end result, as the test split
    does, instead of also picking the epoch it is scored at; and the patience tail (6+ epochs past
    the best) and the per-epoch validation passes are not paid K-1 more times. None: early
    stopping on the fold's own validation split, as fold 1.

    `keep`: a dict the caller keeps between folds (one per trainer). The compiled model stays there,
    and the candidate's next fold trains it again: its variables (weights and dropout seeds) are set
    to those of the model built for that fold and its optimizer's to their values before the first
    fold, so it trains to the same bits as a new model (tests/test_draws.py) without tracing the train
    step again (0.5-0.9 s per fold on 2 cores; the demo's final ranking 107-114 -> 93 s)."""
    from tuner.metrics import score
    from tuner.models import build_model
    from tuner.quantize import predict_int8, to_int8
    from tuner.train import compile_for_training

    pre, feats = fold.features(params)
    (x_tr, _), (x_va, y_va) = feats["train"], feats["val"]
    model = build_model(params, pre.input_shape, len(fold.class_names), seed=fold.seed)
    key = json.dumps([params, list(pre.input_shape), len(fold.class_names)], sort_keys=True, default=str)
    if keep is not None and keep.get("key") == key:
        kept = keep["model"]
        for to, value in zip(kept.variables, model.variables, strict=True):
            to.assign(value)
        for to, start in zip(kept.optimizer.variables, keep["optimizer"], strict=True):
            to.assign(start)
        model = kept
    else:
        compile_for_training(model, params)
        if keep is not None:
            keep.clear()
            keep.update(key=key, model=model, optimizer=[np.array(v) for v in model.optimizer.variables])
    trained = _train(model, feats, params, fold, seconds_limit=seconds_limit, fixed_epochs=epochs, compiled=True)
    tflite = to_int8(model, x_tr, seed=fold.seed)
    metric = score(y_va, predict_int8(tflite, x_va).argmax(axis=1), len(fold.class_names), fold.metric)
    return metric, float(trained.train_seconds)


def save_artifacts(folder: Path, params: dict[str, Any], res: CandidateResult) -> None:
    """Write candidate.yaml, model.keras, model_int8.tflite, estimate.json, preprocess.json and,
    last, metrics.json (with the time this writing took in `stage_seconds.write`)."""
    from tuner.files import write_atomic

    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "candidate.yaml", yaml.safe_dump(params, sort_keys=False))
    write_atomic(folder / "estimate.json", json.dumps(res.estimate, indent=1))
    if res.preprocess_state is not None:
        (folder / "preprocess.json").write_text(json.dumps(res.preprocess_state))
    if res.tflite is not None:
        (folder / "model_int8.tflite").write_bytes(res.tflite)
    if res.model is not None:
        res.model.save(folder / "model.keras")
    stages = res.metrics.setdefault("stage_seconds", {})
    stages["write"] = stages.get("write", 0.0) + time.perf_counter() - start
    write_atomic(folder / "metrics.json", json.dumps(res.metrics, indent=1))


def build_untrained_int8(config_path: str | Path) -> tuple[bytes, Any]:
    """The int8 .tflite of a config's candidate, untrained (weights do not change the estimate)."""
    from tuner.config import load_config
    from tuner.models import build_model
    from tuner.quantize import to_int8
    from tuner.targets import load_target

    cfg = load_config(config_path)
    problem = Problem.from_source(
        cfg.data, load_target(cfg.target), Budgets(), seed=cfg.seed, domain=cfg.domain, rate_hz=cfg.rate_hz
    )
    pre, feats = problem.features(cfg.candidate)
    model = build_model(cfg.candidate, pre.input_shape, len(problem.class_names), seed=cfg.seed)
    return to_int8(model, feats["train"][0], n_samples=16), pre.cost()
