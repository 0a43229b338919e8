"""One candidate through the pipeline: preprocess -> build -> pre-check -> train -> int8 -> evaluate -> estimate.

Used by the sweep for every trial and by `retrain` for an exported config, so both run the same code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tuner.budgets import Budgets
from tuner.data import Dataset, load_data, split
from tuner.errors import CandidateFailed, CandidateRejected, InputError
from tuner.estimate.training_time import HostThroughput

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
    _features: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_source(
        cls, data: str, target: Any, budgets: Budgets, seed: int = 0, epochs: int | None = None, domain: str = ""
    ) -> Problem:
        ds = load_data(data, domain=domain)  # refuses data the space's domain cannot take
        train, val, test = split(ds, seed=seed)
        return cls(data, train, val, test, target, budgets, seed, epochs)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.train.class_names

    def features(self, params: dict[str, Any]) -> tuple[Any, dict[str, np.ndarray]]:
        """Fitted preprocessor and features of every split, cached per preprocessing setting."""
        from tuner.preprocess import build_preprocessor

        pre = build_preprocessor(params, self.train)
        key = json.dumps({k: v for k, v in params.items() if not _is_model_key(k)}, sort_keys=True, default=str)
        if key not in self._features:
            pre.fit(self.train)
            out = {}
            for name, ds in (("train", self.train), ("val", self.val), ("test", self.test)):
                out[name] = pre.transform(ds)
            self._features = {key: (pre.state(), out)}  # keep one: feature sets can be large
        state, out = self._features[key]
        pre.load_state(state)
        return pre, out


# Parameters that only change the model or its training; every other parameter is taken to change
# preprocessing (a wrong guess only costs a cache miss).
MODEL_KEYS = {
    "family",
    "layers",
    "kernel_size",
    "dropout",
    "learning_rate",
    "epochs",
    "batch_size",
    "patience",
    "alpha",
    "weights_path",
    "first_filters",
    "width_multiplier",
    "optimizer",
    "pooling",
}


def _is_model_key(k: str) -> bool:
    return k in MODEL_KEYS or k.startswith("units")


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


def precheck(
    model: Any, x_train: np.ndarray, problem: Problem, dsp: Any, params: dict[str, Any]
) -> tuple[dict[str, Any], float]:
    """Fast estimate of the untrained int8 model plus the training-time estimate; raise if over budget."""
    from tuner.estimate import estimate_tflite
    from tuner.quantize import to_int8

    tfl = to_int8(model, x_train, n_samples=8, seed=problem.seed)
    est = estimate_tflite(tfl, problem.target, dsp=dsp, exact=False)
    epochs = int(problem.epochs or params.get("epochs", 30))
    host = problem.host or HostThroughput(0.05, 1e-3, 1e-9, source="default")
    dw_macs = sum(layer.macs for layer in est.layers if layer.op == "DEPTHWISE_CONV_2D")
    bn_elems = _batchnorm_elements(model)
    batch = int(params.get("batch_size", 32))
    train_s = host.estimate_seconds(est.macs, len(x_train), batch, epochs, dw_macs, bn_elems)
    return {**est.to_dict(), "dw_macs": dw_macs, "bn_elems": bn_elems}, train_s


def _batchnorm_elements(model: Any) -> int:
    """Activation elements per sample that go through BatchNormalization (costly to train on CPU)."""
    import keras

    total = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            total += int(np.prod(layer.output.shape[1:]))
    return total


def run_candidate(
    params: dict[str, Any], problem: Problem, on_event: Event | None = None, on_epoch: Callable | None = None
) -> CandidateResult:
    """Run one candidate. Raises CandidateRejected (over budget, before training) or CandidateFailed."""
    from tuner.estimate import estimate_tflite
    from tuner.models import build_model
    from tuner.quantize import predict_int8, to_int8
    from tuner.train import train

    emit = on_event or (lambda *a, **k: None)
    emit("stage", stage="preprocess")
    try:
        pre, feats = problem.features(params)
        model = build_model(params, pre.input_shape, len(problem.class_names), seed=problem.seed)
    except InputError as exc:  # a combination the space allows but the data cannot (e.g. FFT > window)
        raise CandidateRejected(f"invalid candidate: {exc}") from exc
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = feats["train"], feats["val"], feats["test"]
    dsp = pre.cost()

    emit("stage", stage="pre-check")
    t0 = time.perf_counter()
    pre_est, est_train_s = precheck(model, x_tr, problem, dsp, params)
    reasons = problem.budgets.violations(
        pre_est["latency_ms"], pre_est["ram_bytes"], pre_est["flash_bytes"], est_train_s
    )
    base_metrics = {
        "est_train_seconds": est_train_s,
        "precheck_seconds": time.perf_counter() - t0,
        "precheck_estimate": {k: v for k, v in pre_est.items() if k != "layers"},
        "n_train": int(len(x_tr)),
        "n_val": int(len(x_va)),
        "n_test": int(len(x_te)),
        "dw_macs": int(pre_est["dw_macs"]),
        "bn_elems": int(pre_est["bn_elems"]),
        "input_shape": list(pre.input_shape),
    }
    if reasons:
        margins = problem.budgets.margins(
            pre_est["latency_ms"], pre_est["ram_bytes"], pre_est["flash_bytes"], est_train_s
        )
        flat = {k: pre_est[k] for k in ("latency_ms", "ram_bytes", "flash_bytes", "macs") if k in pre_est}
        raise CandidateRejected("; ".join(reasons), margins, {**flat, "est_train_seconds": est_train_s})

    emit("precheck", estimate=pre_est, est_train_seconds=est_train_s)
    emit("stage", stage="train")
    result = train(model, x_tr, y_tr, x_va, y_va, params, seed=problem.seed, on_epoch=on_epoch, epochs=problem.epochs)

    emit("stage", stage="int8")
    tflite = to_int8(model, x_tr, seed=problem.seed)
    n = len(problem.class_names)
    float_acc, float_cm = _accuracy_and_confusion(model.predict(x_te, verbose=0, batch_size=256), y_te, n)
    int8_acc, int8_cm = _accuracy_and_confusion(predict_int8(tflite, x_te), y_te, n)
    if not np.isfinite(float_acc):
        raise CandidateFailed("evaluation produced NaN")

    emit("stage", stage="estimate")
    est = estimate_tflite(tflite, problem.target, dsp=dsp, exact=True).to_dict()
    metrics = {
        **base_metrics,
        "float_accuracy": float_acc,
        "int8_accuracy": int8_acc,
        "int8_drop": float_acc - int8_acc,
        "float_confusion": float_cm,
        "int8_confusion": int8_cm,
        "train_seconds": result.train_seconds,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "history": result.history,
        "class_names": list(problem.class_names),
    }
    post = problem.budgets.violations(est["latency_ms"], est["ram_bytes"], est["flash_bytes"], 0.0)
    state, reason = ("rejected", "; ".join(post)) if post else ("feasible", "")
    return CandidateResult(state, reason, metrics, est, tflite, model, pre.state())


def save_artifacts(folder: Path, params: dict[str, Any], res: CandidateResult) -> None:
    """Write candidate.yaml, model.keras, model_int8.tflite, metrics.json, estimate.json, preprocess.json."""
    from tuner.files import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "candidate.yaml", yaml.safe_dump(params, sort_keys=False))
    write_atomic(folder / "metrics.json", json.dumps(res.metrics, indent=1))
    write_atomic(folder / "estimate.json", json.dumps(res.estimate, indent=1))
    if res.preprocess_state is not None:
        (folder / "preprocess.json").write_text(json.dumps(res.preprocess_state))
    if res.tflite is not None:
        (folder / "model_int8.tflite").write_bytes(res.tflite)
    if res.model is not None:
        res.model.save(folder / "model.keras")


def build_untrained_int8(config_path: str | Path) -> tuple[bytes, Any]:
    """The int8 .tflite of a config's candidate, untrained (weights do not change the estimate)."""
    from tuner.config import load_config
    from tuner.models import build_model
    from tuner.quantize import to_int8
    from tuner.targets import load_target

    cfg = load_config(config_path)
    problem = Problem.from_source(cfg.data, load_target(cfg.target), Budgets(), seed=cfg.seed, domain=cfg.domain)
    pre, feats = problem.features(cfg.candidate)
    model = build_model(cfg.candidate, pre.input_shape, len(problem.class_names), seed=cfg.seed)
    return to_int8(model, feats["train"][0], n_samples=16), pre.cost()
