"""Report generation on small synthetic files: every output exists and is valid, tables parse and
carry the same numbers in every format, the HTML is self-contained, captions state n, the
interval, the resamples and the seed, the same seed gives the same bytes, and an interrupted
report leaves no half-written file."""

from __future__ import annotations

import json
import re
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.exceptions import FileFormatError, LabelError, ValidationError
from rsastats.report import ReportConfig, analyse, build_report, cluster_order
from rsastats.simulate import simulate_activations, true_vectors

FAST = dict(n_boot=60, permutations=99, n_splits=4, layer_points=3, layer_n_boot=30, last_k_check=2, geometry_layers=2,
            geometry_n_boot=30)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-inputs")
    tv = true_vectors(7, 12, seed=3)
    rng = np.random.default_rng(0)
    files = []
    for i, shift in enumerate((0.0, 0.2, 0.9)):
        ds = simulate_activations(7, 5, 3, 12, noise=0.7, vectors=tv + shift * rng.standard_normal(tv.shape), n_baseline=6,
                                  seed=i + 1, attrs={"model": f"model-{i}", "precision": ["fp32", "bf16", "fp32"][i]})
        files.append(str(write_dataset(ds, tmp / f"m{i}.nc")))
    labels = [str(e) for e in ds["emotion"].values]
    vec = write_dataset(make_vectors(rng.standard_normal((7, 12)), labels, attrs={"model": "paper"}), tmp / "paper.nc")
    x = rng.standard_normal((7, 5))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    rdm = write_dataset(make_rdm(d, labels[::-1], attrs={"rdm_method": "cosine", "source": "published"}), tmp / "rdm.nc")
    return {"acts": files, "vectors": str(vec), "rdm": str(rdm), "labels": labels, "tmp": tmp}


@pytest.fixture(scope="module")
def report(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "r"
    config = ReportConfig(files=tuple(inputs["acts"]), names=("alpha", "beta", "gamma"), title="Test report", **FAST)
    result = build_report(config, out)
    return out, result, json.loads((out / "report.json").read_text())


def test_every_output_exists_and_is_valid(report):
    out, result, manifest = report
    for rel in manifest["files"]:
        assert (out / rel).is_file(), rel
    figures = {f["name"] for f in manifest["figures"]}
    assert {"rdm_alpha", "rdm_beta", "rdm_gamma", "mds", "rho_matrix", "forest", "layer_sensitivity", "anisotropy"} <= figures
    import matplotlib.image as mpimg

    for f in manifest["figures"]:
        png = (out / f["png"]).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        image = mpimg.imread(out / f["png"])
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        root = ET.parse(out / f["svg"]).getroot()
        assert root.tag.endswith("svg")
    assert result.html == out / "index.html" and result.markdown.is_file()
    assert set(manifest["tables"]) >= {"inputs", "rho_matrix", "pairs", "ceilings", "layers", "anisotropy"}


def _markdown_tables(text: str) -> dict[str, pd.DataFrame]:
    """Every table in report.md, keyed by its title, parsed back into strings."""
    out = {}
    for match in re.finditer(r"\*\*Table \d+\. (.+?)\.\*\*.*?\n\n((?:\|.*\|\n)+)", text):
        lines = [ln for ln in match.group(2).strip().splitlines() if not re.fullmatch(r"\|[:\-| ]+\|", ln)]
        rows = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]
        out[match.group(1)] = pd.DataFrame(rows[1:], columns=rows[0])
    return out


def test_markdown_tables_parse_and_carry_the_json_numbers(report):
    out, _, manifest = report
    tables = _markdown_tables((out / "report.md").read_text())
    assert len(tables) == len(manifest["tables"])
    pairs = tables["Pairwise comparisons"]
    records = manifest["tables"]["pairs"]["records"]
    assert len(pairs) == len(records) == 3
    for row, rec in zip(pairs.itertuples(index=False), records):
        assert row[0] == rec["a"] and row[1] == rec["b"]
        assert row[2] == f"{rec['rho']:.3f}"
        assert row[3] == f"[{rec['ci_low']:.3f}, {rec['ci_high']:.3f}]"
        assert float(row[5]) == pytest.approx(rec["p_holm"], abs=5e-5)


def test_csv_equals_json_records(report):
    out, _, manifest = report
    for name, table in manifest["tables"].items():
        frame = pd.read_csv(out / "tables" / f"{name}.csv", keep_default_na=False, na_values=[""])
        assert list(frame.columns) == list(table["records"][0])
        for col in frame.columns:
            values = [r[col] for r in table["records"]]
            if all(isinstance(v, (int, float)) or v is None for v in values):
                np.testing.assert_allclose(frame[col].to_numpy(dtype=float),
                                           np.array([np.nan if v is None else v for v in values], dtype=float), rtol=1e-12)


def test_latex_tables_hold_the_displayed_numbers(report):
    out, _, manifest = report
    tex = (out / "tables" / "pairs.tex").read_text()
    assert "\\begin{tabular}" in tex and "\\caption{" in tex and "\\label{tab:pairs}" in tex and "\\toprule" in tex
    for rec in manifest["tables"]["pairs"]["records"]:
        assert f"{rec['rho']:.3f}" in tex
    everything = (out / "tables" / "all_tables.tex").read_text()
    assert everything.count("\\begin{table}") == len(manifest["tables"])
    assert "seed 0" in tex and "resamples" in tex


def test_html_is_self_contained(report):
    out, _, manifest = report
    page = (out / "index.html").read_text()
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    sources = re.findall(r'<img src="([^"]{0,30})', page)
    assert len(sources) == len(manifest["figures"])
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert page.count('<table class="data">') == len(manifest["tables"])


def test_every_caption_states_n_interval_resamples_and_seed(report):
    _, _, manifest = report
    captions = [t["caption"] for t in manifest["tables"].values()] + [f["caption"] for f in manifest["figures"]]
    for caption in captions:
        assert re.search(r"n = \d+", caption), caption
        assert re.search(r"seed \d+", caption), caption
        assert re.search(r"\d+ (leave-one-out )?resamples|no resampling|no bootstrap", caption), caption
        if "resamples" in caption:
            assert re.search(r"(basic|percentile|bca|BCa) bootstrap|jackknife", caption), caption


def test_emotion_order_is_the_reference_clustering_everywhere(report, inputs):
    out, _, manifest = report
    from rsastats.inputs import load_model

    ref = load_model(inputs["acts"][0])
    order = list(cluster_order(np.asarray(ref.rdm.matrix), ref.labels))
    assert manifest["key_numbers"]["emotion_order"] == order
    for name in ("alpha", "gamma"):  # every heatmap's x tick labels, in drawing order, are the reference's order
        svg = (out / "figures" / f"rdm_{name}.svg").read_text()
        drawn = re.findall(r"<text[^>]*rotate\(-90\)\">([^<]+)</text>", svg)
        assert drawn[: len(order)] == order
    assert sorted(order) == sorted(inputs["labels"])


def test_same_seed_same_bytes_other_seed_other_intervals(report, inputs, tmp_path):
    out, _, manifest = report
    again = tmp_path / "r"
    config = ReportConfig(files=tuple(inputs["acts"]), names=("alpha", "beta", "gamma"), title="Test report", **FAST)
    build_report(config, again)
    for rel in manifest["files"]:
        if rel != "analysis.yaml":  # holds paths relative to the report folder
            assert (again / rel).read_bytes() == (out / rel).read_bytes(), rel
    build_report(ReportConfig(files=tuple(inputs["acts"]), names=("alpha", "beta", "gamma"), **{**FAST, "seed": 1}),
                         tmp_path / "other")
    first = json.loads((out / "report.json").read_text())["tables"]["pairs"]["records"]
    second = json.loads((tmp_path / "other" / "report.json").read_text())["tables"]["pairs"]["records"]
    assert [r["rho"] for r in first] == [r["rho"] for r in second]
    assert [r["standard_error"] for r in first] != [r["standard_error"] for r in second]


def test_rerunning_from_the_saved_analysis_file_gives_the_same_report(report, tmp_path):
    from rsastats.report import load_config

    out, _, manifest = report
    build_report(load_config(out / "analysis.yaml"), tmp_path / "rerun")
    for rel in manifest["files"]:
        if rel not in ("analysis.yaml",):
            assert (tmp_path / "rerun" / rel).read_bytes() == (out / rel).read_bytes(), rel


def test_interrupted_report_leaves_only_complete_files(inputs, tmp_path, monkeypatch):
    from rsastats.report import pages

    out = tmp_path / "r"
    config = ReportConfig(files=tuple(inputs["acts"][:2]), **{**FAST, "layer_points": 0, "geometry_layers": 0})
    build_report(config, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def interrupted(doc):
        raise KeyboardInterrupt

    monkeypatch.setattr(pages, "html_page", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_report(ReportConfig(files=tuple(inputs["acts"][:2]), **{**FAST, "layer_points": 0, "geometry_layers": 0,
                                                                       "seed": 3}), out)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert (out / "index.html").read_bytes() == before[out / "index.html"]  # the old page, whole
    for path in out.rglob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_files_of_an_earlier_report_are_replaced_and_nothing_else_is_touched(inputs, tmp_path):
    out = tmp_path / "r"
    small = {**FAST, "layer_points": 0, "geometry_layers": 0}
    build_report(ReportConfig(files=tuple(inputs["acts"]), names=("a", "b", "c"), **small), out)
    (out / "mine.txt").write_text("keep me")
    assert (out / "figures" / "rdm_c.png").is_file()
    build_report(ReportConfig(files=tuple(inputs["acts"][:2]), names=("a", "b"), **small), out)
    assert not (out / "figures" / "rdm_c.png").exists()
    assert (out / "figures" / "rdm_a.png").is_file() and (out / "mine.txt").read_text() == "keep me"


def test_mixed_kinds_report_says_what_was_left_out(inputs, tmp_path):
    files = (inputs["acts"][0], inputs["vectors"], inputs["rdm"])
    result = build_report(ReportConfig(files=files, **FAST), tmp_path / "mixed")
    manifest = json.loads((tmp_path / "mixed" / "report.json").read_text())
    assert manifest["key_numbers"]["bootstrap"] == "emotions"
    assert any("RDM file" in n for n in result.notes)
    assert any("not an activations file" in n for n in result.notes)
    assert "layers" not in manifest["tables"]  # only one file has several layers


def test_audit_results_add_an_audit_section(inputs, tmp_path):
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"verdict": "method confound", "seed": 0, "n_boot": 100, "n_emotions": 7,
                                 "layers": [{"layer": "precision", "rho_shift": 0.12, "ci_low": 0.05, "ci_high": 0.2}]}))
    config = ReportConfig(files=tuple(inputs["acts"][:2]), audit=str(audit), **{**FAST, "layer_points": 0, "geometry_layers": 0})
    build_report(config, tmp_path / "r")
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## Audit" in md and "method confound" in md and "rho shift" in md  # readable headings
    manifest = json.loads((tmp_path / "r" / "report.json").read_text())
    assert {"audit", "audit_layers"} <= set(manifest["tables"])


@pytest.mark.parametrize("problem, error", [
    ("missing", FileFormatError), ("labels", LabelError), ("reference", ValidationError), ("audit", FileFormatError)])
def test_bad_inputs_fail_before_any_work(inputs, tmp_path, problem, error):
    files = list(inputs["acts"][:2])
    kwargs = dict(FAST)
    if problem == "missing":
        files.append(str(tmp_path / "nope.nc"))
    elif problem == "labels":
        labels = inputs["labels"][:-1] + ["zzz"]
        files.append(str(write_dataset(make_vectors(np.eye(7, 12) + 0.1, labels), tmp_path / "other.nc")))
    elif problem == "reference":
        kwargs["reference"] = "nobody"
    else:
        (tmp_path / "audit.json").write_text("[1, 2")
        kwargs["audit"] = str(tmp_path / "audit.json")
    with pytest.raises(error):
        build_report(ReportConfig(files=tuple(files), **kwargs), tmp_path / "r")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("option", ["layer_n_boot", "geometry_n_boot", "decompose_n_boot", "maturity_n_boot"])
def test_a_section_count_that_cannot_fit_fails_before_any_work(inputs, tmp_path, monkeypatch, option):
    """Each section's resample count is bounded before the main comparison runs, named by its option."""
    from rsastats.report import sections

    monkeypatch.setenv("RSASTATS_MAX_MEMORY", "200M")
    ran = []
    monkeypatch.setattr(sections, "compare_all", lambda *a, **k: ran.append(1))
    config = ReportConfig(files=tuple(inputs["acts"][:2]), **{**FAST, option: 10**9})
    with pytest.raises(ValidationError, match="--" + option.replace("_", "-") + " 1000000000 needs about"):
        build_report(config, tmp_path / "r")
    assert ran == [] and not (tmp_path / "r").exists()


def test_analyses_expose_the_numbers_behind_the_tables(inputs):
    an = analyse(ReportConfig(files=tuple(inputs["acts"]), **FAST))
    from rsastats.inference import adjust_pvalues

    np.testing.assert_allclose(an.pairs["p_holm"], adjust_pvalues(an.pairs["p_value"], "holm"))
    np.testing.assert_allclose(an.pairs["p_bh"], adjust_pvalues(an.pairs["p_value"], "bh"))
    assert set(an.layer_curve["depth"].round(3)) == {0.0, 0.5, 1.0}
    assert an.layer_last_k is not None and set(an.layer_last_k["last_k"]) == {2}
    assert set(an.geometry["descriptor"]) == {"baseline_anisotropy", "emotion_mean_cosine"}


@pytest.fixture(scope="module")
def design_files(tmp_path_factory):
    """Two models, each at two precisions: a design the variance decomposition can estimate."""
    tmp = tmp_path_factory.mktemp("design")
    rng = np.random.default_rng(4)
    tv = true_vectors(7, 12, seed=5)
    files = []
    for m in range(2):
        model_vectors = tv + 0.6 * rng.standard_normal(tv.shape)
        for precision in ("fp32", "bf16"):
            noisy = model_vectors + 0.2 * rng.standard_normal(tv.shape)
            ds = simulate_activations(7, 4, 2, 12, noise=0.5, vectors=noisy, seed=len(files) + 10,
                                      attrs={"model": f"model-{m}", "precision": precision, "experiment": "e1"})
            files.append(str(write_dataset(ds, tmp / f"m{m}-{precision}.nc")))
    return files


def test_decomposition_section_when_the_files_vary_a_method_factor(design_files, tmp_path):
    config = ReportConfig(files=tuple(design_files), decompose_n_boot=20,
                          **{**FAST, "layer_points": 0, "geometry_layers": 0})
    result = build_report(config, tmp_path / "r")
    manifest = json.loads((tmp_path / "r" / "report.json").read_text())
    assert {"decomposition", "decomposition_layers"} <= set(manifest["tables"])
    assert "variance_components" in {f["name"] for f in manifest["figures"]}
    components = {r["component"]: r for r in manifest["tables"]["decomposition"]["records"]}
    assert components["precision"]["estimable"] and not components["method"]["estimable"]
    caption = manifest["tables"]["decomposition"]["caption"]
    assert "n = 7 emotions" in caption and "20 resamples" in caption and "seed 0" in caption
    assert {r["layer"] for r in result.key_numbers["variance_layers"]} >= {"3 precision", "model"}
    from rsastats.variance import decompose

    direct = decompose(list(design_files), names=[Path(f).stem for f in design_files], n_boot=20, seed=0)
    assert direct.component("precision").share == pytest.approx(components["precision"]["share"], rel=1e-12)


def test_no_decomposition_without_method_variation_or_when_switched_off(inputs, design_files, tmp_path):
    quick = {**FAST, "layer_points": 0, "geometry_layers": 0}
    auto = build_report(ReportConfig(files=tuple(inputs["acts"]), **quick), tmp_path / "a")
    assert any("no variance decomposition" in n for n in auto.notes)
    off = build_report(ReportConfig(files=tuple(design_files), decompose="no", **quick), tmp_path / "b")
    assert "variance_layers" not in off.key_numbers
    with pytest.raises(ValidationError):
        build_report(ReportConfig(files=(inputs["acts"][0], inputs["rdm"]), decompose="yes", **quick), tmp_path / "c")


def test_maturity_section_classifies_base_models_only_and_states_the_rule(tmp_path):
    from rsastats.maturity import MATURITY_RULE, classify_maturity

    tv = true_vectors(7, 12, seed=8)
    files = []
    for i, variant in enumerate(("base", "instruct", "base")):
        ds = simulate_activations(7, 5, 2, 12, noise=0.6, vectors=tv, n_baseline=8, seed=i + 20,
                                  attrs={"model": f"model-{i}", "variant": variant, "family": f"f{i // 2}"})
        files.append(str(write_dataset(ds, tmp_path / f"m{i}.nc")))
    config = ReportConfig(files=tuple(files), maturity_n_boot=40, decompose="no",
                          **{**FAST, "layer_points": 0, "geometry_layers": 0})
    result = build_report(config, tmp_path / "r")
    manifest = json.loads((tmp_path / "r" / "report.json").read_text())
    table = manifest["tables"]["maturity"]
    assert MATURITY_RULE.statement() in table["caption"] and "40 resamples" in table["caption"]
    assert {r["model"] for r in table["records"]} == {"m0", "m2"}  # the instruct file is not classified
    direct = classify_maturity(files[2], n_boot=40, seed=0)
    rows = {r["input"]: r for r in table["records"] if r["model"] == "m2"}
    for item in direct.inputs:
        assert rows[item.name]["estimate"] == pytest.approx(item.estimate, rel=1e-12)
        assert rows[item.name]["ci_low"] == pytest.approx(item.ci_low, rel=1e-12)
        assert rows[item.name]["maturity"] == direct.maturity
    assert any("not classified: m1 (variant instruct)" in n for n in result.notes)
    assert "Maturity: the a-priori rule" in (tmp_path / "r" / "report.md").read_text()
    off = build_report(config.__class__(**{**config.to_dict(), "files": tuple(files), "names": None, "maturity": "no"}),
                       tmp_path / "off")
    assert "maturity" not in off.key_numbers


def test_maturity_section_reads_a_files_own_layer(tmp_path):
    """FILE@LAYER: the maturity rule is applied at that layer, as every other section reads the file."""
    from rsastats.maturity import classify_maturity

    tv = true_vectors(7, 12, seed=8)
    files = []
    for i in range(2):
        ds = simulate_activations(7, 5, 2, 12, noise=0.6, vectors=tv, n_baseline=8, seed=i + 30,
                                  attrs={"model": f"model-{i}", "variant": "base", "family": "f"})
        files.append(str(write_dataset(ds, tmp_path / f"m{i}.nc")))
    first = int(ds["layer"].values[0])
    config = ReportConfig(files=(f"{files[0]}@{first}", files[1]), maturity_n_boot=40, decompose="no",
                          **{**FAST, "layer_points": 0, "geometry_layers": 0})
    build_report(config, tmp_path / "r")
    records = json.loads((tmp_path / "r" / "report.json").read_text())["tables"]["maturity"]["records"]
    layers = {r["model"]: r["layer"] for r in records}
    assert layers == {f"m0@{first}": first, "m1": int(ds["layer"].values[-1])}  # the name keeps the @LAYER
    direct = classify_maturity(files[0], layer=first, n_boot=40, seed=0)
    rows = {r["input"]: r for r in records if r["model"] == f"m0@{first}"}
    for item in direct.inputs:
        assert rows[item.name]["estimate"] == pytest.approx(item.estimate, rel=1e-12)


def test_maturity_rule_text_is_shown_even_without_a_base_model(inputs, tmp_path):
    from rsastats.maturity import MATURITY_RULE

    build_report(ReportConfig(files=tuple(inputs["acts"][:2]), **{**FAST, "layer_points": 0, "geometry_layers": 0}),
                 tmp_path / "r")
    text = (tmp_path / "r" / "report.md").read_text()
    assert MATURITY_RULE.statement() in text and "variant unknown" in text
