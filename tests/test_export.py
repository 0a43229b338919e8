"""Export: the C header, config.yaml (complete, human-editable, validated) and `tuner export` on a real
tiny sweep, including every bad input (nothing half-written)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from tuner.config import CandidateConfig, load_config, render_config, save_config
from tuner.errors import InputError
from tuner.estimate import tflm_accepts
from tuner.exporter import EXPORT_FILES, arena_define, c_header


def _array_bytes(header: str) -> bytes:
    body = header[header.index("= {") : header.index("};")]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


@pytest.mark.parametrize("arena, expected", [(1, 32), (16, 32), (6592, 6608), (6593, 6624), (0, 16)])
def test_arena_define_rounds_to_16_plus_alignment_slack(arena, expected):
    assert arena_define(arena) == expected


def test_c_header_round_trips_bytes_and_defines():
    blob = bytes(range(256)) * 3 + b"\x07"
    h = c_header(blob, 6593)
    assert _array_bytes(h) == blob
    assert "#define MODEL_INT8_LEN 769" in h
    assert "#define MODEL_INT8_ARENA_SIZE 6624" in h
    assert "alignas(16) static const uint8_t model_int8[MODEL_INT8_LEN]" in h


@pytest.mark.skipif(not shutil.which("gcc") or not shutil.which("g++"), reason="needs gcc and g++")
@pytest.mark.parametrize("compiler, ext", [("gcc", "c"), ("g++", "cpp")])
def test_c_header_compiles_as_c_and_cpp(tmp_path, compiler, ext):
    (tmp_path / "model_int8.h").write_text(c_header(b"TFL3" * 10, 100))
    src = tmp_path / f"main.{ext}"
    src.write_text(
        textwrap.dedent("""
        #include "model_int8.h"
        static unsigned char arena[MODEL_INT8_ARENA_SIZE];
        int main(void) {
            return (sizeof(model_int8) == MODEL_INT8_LEN && ((unsigned long)model_int8 % 16) == 0
                    && sizeof(arena) == 128) ? 0 : 1;
        }
    """)
    )
    std = "-std=c11" if ext == "c" else "-std=c++17"
    subprocess.run([compiler, std, "-Wall", "-Werror", str(src), "-o", str(tmp_path / "a.out")], check=True)
    assert subprocess.run([str(tmp_path / "a.out")]).returncode == 0


def _cfg(**over) -> CandidateConfig:
    base = dict(
        name="s/trial-1",
        data="seglearn-watch",
        domain="motion",
        space="motion",
        target="nano33ble",
        seed=3,
        candidate={
            "window_ms": 2000,
            "stride_ms": 500,
            "dsp": "spectral",
            "fft_length": 32,
            "family": "conv1d",
            "layers": 2,
            "units1": 16,
            "units2": 8,
            "kernel_size": 3,
            "epochs": 5,
            "batch_size": 32,
            "patience": 3,
            "dropout": 0.1,
            "learning_rate": 0.002,
        },
    )
    return CandidateConfig(**{**base, **over})


def test_config_sections_comments_and_round_trip(tmp_path):
    cfg = _cfg()
    text = render_config(cfg)
    raw = yaml.safe_load(text)
    assert list(raw) == [
        "version",
        "name",
        "data",
        "domain",
        "space",
        "target",
        "seed",
        "budgets",
        "preprocessing",
        "architecture",
        "training",
    ]
    assert raw["preprocessing"] == {"window_ms": 2000, "stride_ms": 500, "dsp": "spectral", "fft_length": 32}
    assert raw["architecture"] == {
        "family": "conv1d",
        "layers": 2,
        "units1": 16,
        "units2": 8,
        "kernel_size": 3,
    }
    assert set(raw["training"]) == {"epochs", "batch_size", "patience", "dropout", "learning_rate"}
    assert re.search(r"^  dsp: spectral  # .*one of raw, stats, spectral", text, re.M)
    assert text.startswith("# Candidate exported by `tuner export`")
    save_config(cfg, tmp_path / "config.yaml")
    back = load_config(tmp_path / "config.yaml")
    assert back == cfg


def _edit(tmp_path: Path, change) -> Path:
    p = tmp_path / "config.yaml"
    save_config(_cfg(), p)
    raw = yaml.safe_load(p.read_text())
    change(raw)
    p.write_text(yaml.safe_dump(raw))
    return p


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda r: r["preprocessing"].update(dsp="wavelet"), r"dsp='wavelet' is not one of \['raw', 'stats'"),
        (lambda r: r["training"].update(epochs=-3), r"training.epochs must be an integer >= 1, got -3"),
        (lambda r: r["training"].update(learning_rate="fast"), r"training.learning_rate must be a number"),
        (
            lambda r: r["training"].update(dropout=1.5),
            r"training.dropout must be a number in \[0, 1\), got 1.5",
        ),
        (lambda r: r.update(seed="zero"), r"field 'seed': Input should be a valid integer"),
        (lambda r: r.update(colour="red"), r"field 'colour': Extra inputs are not permitted"),
        (lambda r: r["budgets"].update(ram_kb=-1), r"field 'budgets.ram_kb': Input should be greater than 0"),
        (lambda r: r.update(target="no-such-board"), r"field 'target': .*no-such-board"),
        (lambda r: r.update(architecture="dense"), r"section 'architecture' must be a mapping"),
        (
            lambda r: r["architecture"].update(unit1=r["architecture"].pop("units1")),
            r"parameter 'unit1' is not in search space 'motion' \(a typo\?\); known: .*units1",
        ),
    ],
)
def test_edited_config_with_invalid_value_is_one_line_input_error(tmp_path, change, match):
    p = _edit(tmp_path, change)
    with pytest.raises(InputError, match=match) as exc:
        load_config(p)
    assert "\n" not in str(exc.value) and str(p) in str(exc.value)


def test_malformed_and_missing_config(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match=r"malformed YAML \(line 2\)"):
        load_config(p)
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


# --- on a real tiny sweep -------------------------------------------------------------------------


def _no_staging_left(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith((".export-", ".retrain-"))]


@pytest.mark.slow
def test_export_best_writes_every_file_and_tflm_loads_with_the_header_arena(results, tmp_path):
    import tuner

    out = tuner.export("pick", "best", tmp_path / "winner")
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORT_FILES)
    best = tuner.leaderboard("pick").iloc[0]
    m = json.loads((out / "metrics.json").read_text())
    assert m["source"] == f"pick/trial-{best.trial}" and m["state"] == "feasible"
    assert m["metrics"]["int8_accuracy"] == pytest.approx(best.int8_accuracy)
    assert m["metrics"]["int8_confusion"] and m["estimate"]["layers"]
    tfl = (out / "model_int8.tflite").read_bytes()
    header = (out / "model_int8.h").read_text()
    assert _array_bytes(header) == tfl
    arena = int(re.search(r"#define MODEL_INT8_ARENA_SIZE (\d+)", header).group(1))
    figures = m["header_arena"]
    assert figures["arena_verified"] and arena == arena_define(figures["tflm_arena_bytes"])
    assert figures["tflm_arena_bytes"] >= m["estimate"]["arena_bytes"]
    # the #define is enough for TFLM to allocate and run the model, and it is the smallest (to 16 B)
    assert tflm_accepts(tfl, arena, invoke=True)
    assert not tflm_accepts(tfl, figures["tflm_arena_bytes"] - 16, invoke=True)
    cfg = load_config(out / "config.yaml")  # complete: enough for retrain alone
    assert cfg.budgets.flash_kb == 200 and cfg.seed == 0 and cfg.data == "seglearn-watch"
    assert cfg.candidate["units1"] == best.params["units1"] and cfg.candidate["epochs"] == 2
    import keras

    assert keras.models.load_model(out / "model.keras").output_shape[-1] == len(m["metrics"]["class_names"])


@pytest.mark.slow
def test_export_refuses_non_empty_out_unless_force(results, tmp_path):
    import tuner

    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"exists and is not empty; pick another folder or add --force"):
        tuner.export("pick", "best", out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    tuner.export("pick", "best", out, force=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORT_FILES)
    assert _no_staging_left(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, trial, match",
    [
        ("pick", "rejected", r"trial \d of sweep 'pick' is rejected \(flash 3\d\d\.\d kB > budget 200 kB\)"),
        ("pick", 7, r"sweep 'pick' has no trial 7; it has trials 0\.\.2"),
        ("none-fit", "best", r"sweep 'none-fit' has no feasible candidate \(1 trials, none feasible\)"),
        ("empty", "best", r"sweep 'empty' has no trials yet"),
        ("nope", "best", r"no sweep named 'nope'"),
    ],
)
def test_export_bad_input_writes_nothing(results, tmp_path, name, trial, match):
    import tuner

    if trial == "rejected":
        df = tuner.leaderboard(name, include_all=True)
        trial = int(df.loc[df.state == "rejected", "trial"].iloc[0])
    with pytest.raises(InputError, match=match):
        tuner.export(name, trial, tmp_path / "out")
    assert not (tmp_path / "out").exists() and _no_staging_left(tmp_path)
