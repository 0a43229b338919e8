"""Model-family registry and parameter validation. Pure Python: no TensorFlow, no Keras.

`FAMILIES` is the one explicit registry of model families. `resolve` turns the flat parameter dict
of a search-space candidate into a validated, fully-defaulted `ModelConfig` that the Keras
builders (`_builders.py`) consume; `check_params` is the same validation without the result.

Parameter rules (all families):
- `family` (str, required): a key of `FAMILIES`.
- keys a family does not read are ignored, because the candidate dict also carries the keys of
  other modules (data, DSP block, training).
- `units<i>` missing for a block i <= `layers` defaults to the width of block i-1
  (`units1` missing: the family default), so `{"layers": 4, "units1": 64}` is four blocks of 64.
- `weights_path` (optional, every family): a local `.weights.h5` file loaded after building.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tuner.errors import InputError

UNITS_PATTERN = "units<i>"


@dataclass(frozen=True)
class FamilySpec:
    """What a model family needs and reads.

    `input_rank`: rank of one sample the family works on natively: 1 = flat features,
    2 = (time, channels), 3 = (height, width, channels). `build_model` adapts other ranks where
    that is sensible (see `adapt_input_shape`). `allowed_alphas`: MobileNet width multipliers this
    family accepts, or None if it has no alpha. `params`: the keys it reads (`units<i>` stands for
    units1, units2, ...). `defaults`: value used when an optional key is missing (`units` is the
    default of `units1`; a missing `units<i>` repeats `units<i-1>`).
    """

    name: str
    input_rank: int
    allowed_alphas: tuple[float, ...] | None
    params: tuple[str, ...]
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def reads(self, key: str) -> bool:
        """True if this family reads `key` (`units3` matches `units<i>`)."""
        if key in self.params:
            return True
        return UNITS_PATTERN in self.params and _units_index(key) is not None


def _spec(name, rank, alphas, params, description, defaults) -> FamilySpec:
    params = ("family", *params, "weights_path")
    defaults = MappingProxyType({**defaults, "weights_path": None})
    return FamilySpec(name, rank, alphas, params, description, defaults)


MOBILENET_V1_ALPHAS = (0.1, 0.2, 0.25, 0.35, 0.5)
MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0)

FAMILIES: Mapping[str, FamilySpec] = MappingProxyType(
    {
        "dense": _spec(
            "dense",
            1,
            None,
            ("layers", UNITS_PATTERN, "dropout"),
            "Flatten -> [Dense(units_i, relu) -> Dropout] x layers -> Dense(softmax)",
            {"layers": 2, "units": 32, "dropout": 0.1},
        ),
        "conv1d": _spec(
            "conv1d",
            2,
            None,
            ("layers", UNITS_PATTERN, "kernel_size", "pooling", "dropout"),
            "[Conv1D(units_i, kernel_size, relu, same) -> MaxPool1D(2)] x layers -> Flatten|AvgPool "
            "-> Dropout -> Dense(softmax)",
            {"layers": 2, "units": 16, "kernel_size": 3, "pooling": "flatten", "dropout": 0.1},
        ),
        "conv2d": _spec(
            "conv2d",
            3,
            None,
            ("layers", UNITS_PATTERN, "kernel_size", "dropout"),
            "[Conv2D(units_i, kernel_size, relu, same) -> MaxPool2D(2)] x layers -> Flatten -> Dropout "
            "-> Dense(softmax)",
            {"layers": 2, "units": 16, "kernel_size": 3, "dropout": 0.1},
        ),
        "dscnn": _spec(
            "dscnn",
            3,
            None,
            ("layers", UNITS_PATTERN, "dropout"),
            "MLPerf Tiny KWS DS-CNN: Conv2D(units1, (10,4), stride 2)+BN+ReLU, [DW 3x3+BN+ReLU, "
            "Conv 1x1(units_i)+BN+ReLU] x layers -> AvgPool -> Dropout -> Dense(softmax)",
            {"layers": 4, "units": 64, "dropout": 0.4},
        ),
        "mobilenet_v1": _spec(
            "mobilenet_v1",
            3,
            MOBILENET_V1_ALPHAS,
            ("alpha", "dropout"),
            "MobileNetV1 (13 depthwise-separable blocks, ReLU6, BN momentum 0.9), width alpha, random init",
            {"alpha": 0.25, "dropout": 0.1},
        ),
        "mobilenet_v2": _spec(
            "mobilenet_v2",
            3,
            MOBILENET_V2_ALPHAS,
            ("alpha", "dropout"),
            "MobileNetV2 (17 inverted-residual blocks, ReLU6, BN momentum 0.9), width alpha, random init",
            {"alpha": 0.35, "dropout": 0.1},
        ),
    }
)

CONV1D_POOLING = ("flatten", "avg")

# Keys the trainer (tuner.train) reads. `dropout` is read by the builders but is a regularisation
# setting, so an exported config lists it under training.
TRAINING_PARAMS = ("epochs", "batch_size", "patience", "learning_rate", "dropout")


def is_model_param(key: str) -> bool:
    """True if some family or the trainer reads `key`: it changes the model or its training, not
    the data the model sees (every other key of a candidate configures data or preprocessing)."""
    return key in TRAINING_PARAMS or any(spec.reads(key) for spec in FAMILIES.values())


def param_section(key: str) -> str:
    """Section of a candidate key in an exported config: training, architecture or preprocessing."""
    if key in TRAINING_PARAMS:
        return "training"
    return "architecture" if is_model_param(key) else "preprocessing"


@dataclass(frozen=True)
class ModelConfig:
    """A validated, fully-defaulted model description (what the builders consume)."""

    family: str
    input_shape: tuple[int, ...] | None  # as given by the data
    model_input_shape: tuple[int, ...] | None  # after rank adaptation; None = unknown yet
    n_classes: int | None
    layers: int | None = None
    units: tuple[int, ...] = ()
    kernel_size: int | None = None
    pooling: str | None = None
    dropout: float = 0.0
    alpha: float | None = None
    weights_path: Path | None = None


def _known() -> str:
    return ", ".join(FAMILIES)


def _units_index(key: str) -> int | None:
    if key.startswith("units") and key[5:].isdigit() and int(key[5:]) >= 1:
        return int(key[5:])
    return None


def _int(params: Mapping[str, Any], key: str, default: int, minimum: int = 1) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(f"`{key}` must be an integer >= {minimum}, but got {key}={value!r}.")
    value = int(value)
    if value < minimum:
        raise InputError(f"`{key}` must be an integer >= {minimum}, but got {key}={value}.")
    return value


def _dropout(params: Mapping[str, Any], default: float) -> float:
    value = params.get("dropout", default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) < 1.0:
        raise InputError(f"`0 <= dropout < 1` must hold, but got dropout={value!r}.")
    return float(value)


def _alpha(spec: FamilySpec, params: Mapping[str, Any]) -> float:
    value = params.get("alpha", spec.defaults["alpha"])
    allowed = ", ".join(str(a) for a in spec.allowed_alphas)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        for a in spec.allowed_alphas:
            if math.isclose(float(value), a, rel_tol=0.0, abs_tol=1e-9):
                return a
    raise InputError(f"alpha {value} is not allowed for {spec.name}; allowed: {allowed}")


def _weights_path(params: Mapping[str, Any]) -> Path | None:
    value = params.get("weights_path")
    if value is None or value == "":
        return None
    path = Path(value).expanduser()
    if not path.name.endswith(".weights.h5"):
        raise InputError(f"`weights_path` must be a Keras '.weights.h5' file, but got weights_path={value}.")
    if not path.is_file():
        raise InputError(f"`weights_path` file not found: {value}")
    return path


def adapt_input_shape(family: str, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of one sample as the family consumes it (the builder inserts a Reshape if it differs).

    dense: any rank (flattened). conv1d: (n,) -> (n, 1); (t, c); (h, w, c) -> (h, w*c).
    2-D families: (h, w) -> (h, w, 1); (h, w, c). Anything else raises InputError.
    """
    spec = family_spec(family)
    shape = tuple(input_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in shape):
        raise InputError(f"input_shape must be a non-empty tuple of positive integers, but got {input_shape!r}.")
    shape = tuple(int(d) for d in shape)
    if spec.input_rank == 1:
        return shape
    if spec.input_rank == 2:
        if len(shape) == 1:
            return (shape[0], 1)
        if len(shape) == 2:
            return shape
        if len(shape) == 3:
            return (shape[0], shape[1] * shape[2])
    elif spec.input_rank == 3:
        if len(shape) == 2:
            return (*shape, 1)
        if len(shape) == 3:
            return shape
    wanted = "(time, channels)" if spec.input_rank == 2 else "(height, width, channels) or (height, width)"
    raise InputError(f"{family} needs input of rank {spec.input_rank} {wanted}, but got input_shape={shape}.")


def family_spec(family: Any) -> FamilySpec:
    """The registry entry for `family`; a miss names the key and lists the known families."""
    try:
        return FAMILIES[family]
    except (KeyError, TypeError):
        raise InputError(f"unknown model family {family!r} (key 'family'); known: {_known()}") from None


def resolve(
    params: Mapping[str, Any],
    input_shape: tuple[int, ...] | None = None,
    n_classes: int | None = None,
) -> ModelConfig:
    """Validate `params` (and the shapes, if given) and fill in the defaults."""
    if not isinstance(params, Mapping):
        raise InputError(f"model params must be a mapping, but got {type(params).__name__}.")
    if "family" not in params:
        raise InputError(f"model params need the key 'family'; known families: {_known()}")
    spec = family_spec(params["family"])
    d = spec.defaults
    kwargs: dict[str, Any] = {"weights_path": _weights_path(params)}
    if "dropout" in spec.params:
        kwargs["dropout"] = _dropout(params, d["dropout"])
    if "layers" in spec.params:
        layers = _int(params, "layers", d["layers"])
        units: list[int] = []
        for i in range(1, layers + 1):
            units.append(_int(params, f"units{i}", units[-1] if units else d["units"]))
        kwargs["layers"], kwargs["units"] = layers, tuple(units)
    if "kernel_size" in spec.params:
        kwargs["kernel_size"] = _int(params, "kernel_size", d["kernel_size"])
    if "pooling" in spec.params:
        pooling = params.get("pooling", d["pooling"])
        if pooling not in CONV1D_POOLING:
            raise InputError(f"pooling {pooling!r} is not allowed for {spec.name}; allowed: flatten, avg")
        kwargs["pooling"] = pooling
    if spec.allowed_alphas is not None:
        kwargs["alpha"] = _alpha(spec, params)
    model_shape = None
    if input_shape is not None:
        model_shape = adapt_input_shape(spec.name, input_shape)
        input_shape = tuple(int(x) for x in input_shape)
    if n_classes is not None:
        if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
            raise InputError(f"`n_classes >= 2` must hold, but got n_classes={n_classes!r}.")
        n_classes = int(n_classes)
    return ModelConfig(spec.name, input_shape, model_shape, n_classes, **kwargs)


def check_params(params: Mapping[str, Any], input_shape: tuple[int, ...] | None = None) -> None:
    """Validate model params without TensorFlow; raises InputError with the rule and the value.

    With `input_shape`, also checks that the family can consume inputs of that shape.
    """
    resolve(params, input_shape)
