"""Every analysis of ``analyses/`` end to end on a tiny model set (randomly initialised models with a
word-level tokenizer, 3 prompts per emotion, few resamples), so the scripts cannot rot; plus the
model-set file checks and the shared extraction cache."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analyses._cache import ExtractionCache
from analyses._common import ANALYSES, run_analysis
from analyses._config import load_model_set
from analyses._models import random_loaded
from analyses.summary import build_summary
from rsastats.exceptions import ValidationError

pytestmark = pytest.mark.extraction

TINY = Path(__file__).with_name("tiny.yaml")
CONFIGS = Path(__file__).resolve().parents[2] / "analyses" / "configs"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("analyses")
    ms = load_model_set(TINY)
    calls: list[tuple[str, str]] = []

    def loader(entry, precision):
        calls.append((entry.name, precision))
        return random_loaded(entry, precision)

    docs = {name: run_analysis(name, ms, out=tmp / "reports" / name, cache=tmp / "cache", loader=loader)
            for name in ANALYSES}
    readme = build_summary(tmp / "reports")
    return tmp, ms, docs, readme, calls


@pytest.mark.parametrize("name", ANALYSES)
def test_each_analysis_writes_its_report(tiny_run, name):
    tmp, ms, docs, _, _ = tiny_run
    out = tmp / "reports" / name
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "rsastats.analysis/1" and results["name"] == name
    assert results["summary"], "every analysis states its result in plain words"
    assert results["key_numbers"]
    assert results["settings"]["model_set"]["sizes"]["prompts"] == 3  # sizes are recorded
    md = (out / "report.md").read_text()
    assert md.startswith(f"# {results['title']}") and "## Reproduce" in md
    # a missing value is said in words (n/a, a note), never printed as nan
    assert not re.search(r"\bnan\b", md, flags=re.I), re.search(r".{60}\bnan\b.{20}", md, flags=re.I | re.S)
    for line in results["summary"]:
        assert line in md
    for table, content in results["tables"].items():
        csv = pd.read_csv(out / "tables" / f"{table}.csv")
        assert len(csv) == len(content["records"]) > 0
        assert (out / "tables" / f"{table}.tex").is_file()
    for fig in results["figures"]:
        assert (out / fig["png"]).stat().st_size > 1000
    for rel in results["files"]:
        assert (out / rel).is_file()


def test_numbers_in_the_summary_come_from_the_tables(tiny_run):
    tmp, ms, docs, _, _ = tiny_run
    pairs = pd.read_csv(tmp / "reports" / "cross_model" / "tables" / "pairs.csv")
    key = docs["cross_model"].key_numbers["random_pairs"]
    assert key["rho_min"] == pytest.approx(pairs["rho"].min()) and key["rho_max"] == pytest.approx(pairs["rho"].max())
    assert key["n"] == len(pairs) == 3
    assert f"rho from {pairs['rho'].min():.2f} to {pairs['rho'].max():.2f}" in docs["cross_model"].summary[0]
    maturity = pd.read_csv(tmp / "reports" / "maturity" / "tables" / "classification.csv")
    assert set(maturity["model"]) == {"tiny-llama", "tiny-qwen2", "tiny-bert"}
    assert set(maturity["maturity"]) <= {"mature", "immature", "indeterminate"}


def test_readme_summarises_every_analysis(tiny_run):
    tmp, ms, docs, readme, _ = tiny_run
    text = readme.read_text()
    for name, doc in docs.items():
        assert f"]({name}/report.md)" in text
        for line in doc.summary:
            assert line in text
    assert "prompts 3" in text  # the sizes
    assert "## Findings across analyses" in text and "on the implicit stories" in text


def test_each_file_is_extracted_once_and_reused(tiny_run):
    tmp, ms, docs, _, calls = tiny_run
    records = json.loads((tmp / "cache" / "records.json").read_text())
    assert len(records) == len(calls)  # one load per extracted file, none for reused ones
    again: list[str] = []
    cache = ExtractionCache(ms, tmp / "cache", loader=lambda e, p: again.append(e.name) or random_loaded(e, p))
    assert cache.get("tiny-llama", "named").is_file() and not again
    # a changed size is another configuration: extracted afresh
    bigger = load_model_set(TINY, prompts=4)
    cache = ExtractionCache(bigger, tmp / "cache", loader=lambda e, p: again.append(e.name) or random_loaded(e, p))
    cache.get("tiny-qwen2", "named")
    assert again == ["tiny-qwen2"]


def test_shipped_model_sets_are_valid():
    offline = load_model_set(CONFIGS / "offline.yaml")
    assert {"smollm2-135m-instruct", "minilm-l6"} <= set(offline.names)
    assert {m.random.architecture for m in offline.random} == {"llama", "qwen2", "mistral", "gemma3_text", "bert"}
    study = load_model_set(CONFIGS / "study12.yaml")
    from extraction.registry import STUDY_MODELS

    assert {m.model for m in study.models} == set(STUDY_MODELS)
    assert len(study.base_instruct) == 6


@pytest.mark.parametrize("text, message", [
    ("name: x\nmodels: [{name: a, model: default}, {name: b, model: minilm}]\ncolour: red\n", "unknown key"),
    ("name: x\nmodels: [{name: a, model: default}, {name: a, model: minilm}]\n", "duplicated model name"),
    ("name: x\nmodels: [{name: a, model: default}, {name: b, random: {architecture: gpt2}}]\n", "architecture must be"),
    ("name: x\nmodels: [{name: a, model: default}, {name: b, random: {architecture: bert}, generate: true}]\n",
     "cannot generate"),
    ("name: x\nmodels: [{name: a, model: default}, {name: b, model: minilm}]\nsizes: {prompts: 0}\n", "positive integer"),
    ("name: x\nmodels: [{name: a, model: default}, {name: b, model: minilm}]\nbase_instruct: [{base: a, instruct: c}]\n",
     "not in the set"),
])
def test_bad_model_sets_get_one_line_errors(tmp_path, text, message):
    path = tmp_path / "set.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=message) as info:
        load_model_set(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_command_line_reports_bad_input_in_one_line(tmp_path, capsys):
    from analyses.cross_model import main

    path = tmp_path / "set.yaml"
    path.write_text("name: x\nmodels: [{name: a, model: default}]\n")
    assert main(["--models", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "at least 2 models" in err[0]


def test_extract_lists_every_needed_file_once():
    import importlib

    from analyses.extract import needed_files

    ms = load_model_set(TINY)
    files = needed_files(ms)
    assert len(files) == len(set(files))
    for name in ANALYSES:
        assert set(map(tuple, importlib.import_module(f"analyses.{name}").needs(ms))) <= set(files)
    assert files.index(("tiny-llama", "named")) < files.index(("tiny-llama", "fp16"))  # cheap recipes first


def test_difference_captions_name_the_difference_interval_itself():
    """A jackknife difference interval is not described as a bootstrap with resamples it does not draw."""
    from types import SimpleNamespace

    from analyses._common import difference_phrase

    jack = SimpleNamespace(ci_method="jackknife", confidence=0.95, n_boot=1000, bootstrap="emotions")
    text = difference_phrase(jack)
    assert "leave one emotion out" in text and "left out of both" in text and "resamples" not in text
    boot = SimpleNamespace(ci_method="bca", confidence=0.9, n_boot=500, bootstrap="both")
    text = difference_phrase(boot)
    assert "90% bca bootstrap CI over emotions and prompts, 500 resamples" in text and "same resamples" in text


def test_committed_difference_captions_match_their_method():
    root = Path(__file__).resolve().parents[2] / "reports"
    for name, table in (("comprehension_generation", "difference"), ("generation_sweep", "difference_to_seed")):
        caption = json.loads((root / name / "results.json").read_text())["tables"][table]["caption"]
        assert "jackknife" not in caption or "resamples" not in caption, (name, caption)
