"""Search-space schema: bundled spaces, conditional parameters, key aliases, every field error."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tuner.errors import InputError
from tuner.space import list_spaces, load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _samples(space, n: int = 30) -> list[dict]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        t = study.ask()
        out.append(space.sample(t))
        study.tell(t, 0.0)
    return out


def test_bundled_spaces_load_and_cover_three_domains() -> None:
    names = list_spaces()
    assert {"motion", "image", "audio"} <= set(names)
    assert {load_space(n).domain for n in names} >= {"motion", "image", "audio"}


@pytest.mark.parametrize("name", ["motion", "image", "audio", "image-large", "tabular"])
def test_samples_hold_only_active_params_and_validate(name: str) -> None:
    from tuner.models import check_params

    space = load_space(name)
    for c in _samples(space):
        space.validate_candidate(c)
        check_params(c)
        if c.get("family") not in ("mobilenet_v1", "mobilenet_v2"):
            assert "alpha" not in c
        if c.get("dsp") != "mfcc":
            assert "n_coeffs" not in c
        assert not any(k.startswith(("alpha_", "resolution_")) for k in c)  # aliases fill their key


def test_alias_keys_take_the_family_specific_choices() -> None:
    for c in _samples(load_space("image-large"), 40):
        allowed = (0.1, 0.2, 0.25, 0.35, 0.5) if c["family"] == "mobilenet_v1" else (0.35, 0.5, 0.75, 1.0)
        assert c["alpha"] in allowed
    for c in _samples(load_space("image"), 40):
        assert c["resolution"] in ((32, 48) if c["family"] == "mobilenet_v1" else (16, 24, 32, 48))


def test_grid_uses_alias_keys(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: s\ndomain: image\ndata: digits\nparams:\n"
        "  family: {type: categorical, choices: [conv2d, mobilenet_v1]}\n"
        "  a1: {type: categorical, choices: [0.1, 0.2], key: alpha, when: {family: [mobilenet_v1]}}\n"
    )
    grid = load_space(p).grid()
    assert grid == [
        {"family": "conv2d"},
        {"family": "mobilenet_v1", "alpha": 0.1},
        {"family": "mobilenet_v1", "alpha": 0.2},
    ]


class _Replay(optuna.samplers.RandomSampler):
    def __init__(self, values: dict) -> None:
        super().__init__(seed=0)
        self.values = values

    def sample_independent(self, study, trial, name, dist):  # noqa: ANN001, ANN201
        return self.values[name]


def test_param_values_replay_a_candidate_through_a_fixed_sampler() -> None:
    space = load_space("image-large")
    for cand in _samples(space, 10):
        values = space.param_values(cand)
        assert "alpha" not in values and ("alpha_v1" in values) != ("alpha_v2" in values)
        study = optuna.create_study(sampler=_Replay(values))
        assert space.sample(study.ask()) == cand


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "space.yaml"
    p.write_text(body)
    return p


BASE = "name: s\ndomain: image\ndata: digits\nparams:\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            BASE + "  family: {type: categorical, choices: [mobilenet_v2]}\n"
            "  alpha: {type: categorical, choices: [0.1, 0.35], when: {family: [mobilenet_v2]}}\n",
            r"params.alpha: alpha 0.1 is not allowed for mobilenet_v2; allowed: 0.35, 0.5, 0.75, 1.0",
        ),
        (
            BASE + "  family: {type: categorical, choices: [resnet]}\n",
            r"params.family: unknown model family 'resnet'; known: dense, conv1d",
        ),
        (
            BASE.replace("image", "audio") + "  dsp: {type: categorical, choices: [mfcc, wavelet]}\n",
            r"params.dsp: dsp 'wavelet' is unknown for audio; known: spectrogram, mfe, mfcc",
        ),
        (
            BASE + "  lr: {type: float, low: 0.1, high: 0.01}\n",
            r"field 'params.lr': `low <= high` must hold, but got \(low=0.1, high=0.01\)",
        ),
        (
            BASE + "  lr: {type: float, low: 0.0, high: 0.1, log: true}\n",
            r"field 'params.lr': `log: true` needs low > 0",
        ),
        (
            BASE + "  c: {type: categorical, choices: []}\n",
            r"field 'params.c': a categorical parameter needs",
        ),
        (
            BASE + "  c: {type: categorical, choices: [1], colour: red}\n",
            r"field 'params.c.colour': Extra inputs",
        ),
        (
            BASE
            + "  c: {type: categorical, choices: [1], when: {later: [1]}}\n"
            + "  later: {type: int, low: 1, high: 2}\n",
            r"params.c.when refers to 'later', which must be declared before it",
        ),
        (
            "name: s\ndomain: radar\ndata: x\nparams: {}\n",
            r"field 'domain': Input should be 'motion', 'image'",
        ),
        ("name: s\ndata: x\nparams: {}\n", r"field 'domain': Field required"),
        ("- just\n- a list\n", r"expected a mapping with name, domain, data, params"),
        ("name: s\n  domain: [unclosed\n", r"malformed YAML at line \d+; fix the syntax"),
    ],
    ids=[
        "alpha-for-family",
        "unknown-family",
        "unknown-dsp",
        "low-high",
        "log-low",
        "empty-choices",
        "extra-field",
        "when-order",
        "bad-domain",
        "missing-field",
        "not-a-mapping",
        "malformed-yaml",
    ],
)
def test_field_errors_name_field_rule_and_value(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        load_space(_write(tmp_path, body))
    assert "\n" not in str(info.value)


def test_unknown_space_name_lists_known() -> None:
    with pytest.raises(InputError, match=r"unknown search space 'imag'; known: .*image.*motion"):
        load_space("imag")


def test_validate_candidate_checks_alias_against_the_active_param() -> None:
    space = load_space("image-large")
    space.validate_candidate({"family": "mobilenet_v2", "alpha": 0.75, "resolution": 96})
    with pytest.raises(InputError, match=r"candidate.alpha=0.1 is not one of \[0.35, 0.5, 0.75, 1.0\]"):
        space.validate_candidate({"family": "mobilenet_v2", "alpha": 0.1, "resolution": 96})
