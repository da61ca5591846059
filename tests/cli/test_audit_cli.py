"""`rsastats audit` through click's CliRunner with precomputed reference files: JSON keys, the rich
panel, and one `error:` line with exit status 2 for each kind of bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rsastats.audit import COMPATIBLE, DIFFERENT, VERDICTS
from rsastats.cli import cli
from rsastats.io import make_vectors, write_dataset
from rsastats.simulate import simulate_audit_case

FAST = ["--n-boot", "300", "--seed", "1"]
KEYS = {"verdict", "numbers_say", "reasons", "rho", "ci_low", "ci_high", "ci_method", "bootstrap", "p_value",
        "n_emotions", "reference_model", "reference_rho", "reference_low", "reference_high", "separating_layers",
        "unknown_layers", "incomplete_layers", "layers", "attributes", "assumptions", "notes", "seed", "gap"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit_cli")
    out = {}
    for prefix, kwargs in (("", {}), ("diff_", {"difference": 3.0})):
        datasets, _ = simulate_audit_case(noise=0.5, n_prompts=8, seed=3, **kwargs)
        for ds, name in zip(datasets, ("a", "b", "ref_a", "ref_b")):
            out[prefix + name] = write_dataset(ds, tmp / f"{prefix}{name}.nc")
    labels = [str(e) for e in datasets[0]["emotion"].values]
    vectors = datasets[0]["activations"].isel(layer=-1).mean("prompt").values
    unknown = {k: v for k, v in datasets[0].attrs.items() if k != "precision"}
    out["no_precision"] = write_dataset(make_vectors(vectors, labels, attrs=unknown), tmp / "no_precision.nc")
    out["other_labels"] = write_dataset(make_vectors(vectors, labels[:-1] + ["zesty"], attrs=unknown), tmp / "other.nc")
    for name in ("a", "ref_b"):  # one emotion's every prompt all zeros: its cosine with anything is undefined
        ds = datasets[("a", "b", "ref_a", "ref_b").index(name)]
        values = ds["activations"].values.copy()
        values[2] = 0.0
        out[f"zero_{name}"] = write_dataset(ds.assign(activations=(ds["activations"].dims, values)),
                                            tmp / f"zero_{name}.nc")
    ref_a, ref_b = datasets[2:]  # B's recipe, read with A's geometry (twice its length): one geometry for both
    out["ref_a_scaled"] = write_dataset(ref_a.assign(activations=2 * ref_a["activations"]).assign_attrs(ref_b.attrs),
                                        tmp / "ref_a_scaled.nc")
    out["truncated"] = tmp / "truncated.nc"
    out["truncated"].write_bytes(out["a"].read_bytes()[:500])
    return out


@pytest.fixture
def runner():
    return CliRunner()


def _run(runner, files, a, b, ref=("ref_a", "ref_b"), extra=()):
    args = ["audit", str(files[a]), str(files[b]), "--reference-files", str(files[ref[0]]), str(files[ref[1]]), *FAST,
            *extra]
    return runner.invoke(cli, args)


def test_json_holds_the_verdict_and_the_numbers_behind_it(runner, files):
    result = _run(runner, files, "a", "b", extra=["--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert KEYS <= set(out) and out["verdict"] == COMPATIBLE and out["verdict"] in VERDICTS
    assert out["ci_low"] <= out["rho"] <= out["ci_high"] and out["reference_low"] <= out["reference_high"]
    assert out["separating_layers"] == "1 method, 2 sub-parameters, 3 precision, 4 experiment"
    assert [x["status"] for x in out["layers"]] == ["differs"] * 4 and out["bootstrap"] == "emotions"
    assert out["reference_model"] == "reference" and len(out["reference_files"]) == 1


def test_bootstrap_scheme_applies_to_both_pairs(runner, files):
    out = json.loads(_run(runner, files, "a", "b", extra=["--json", "--bootstrap", "emotions"]).stdout)
    assert out["bootstrap"] == "emotions" and out["reference_bootstrap"] == "emotions"
    assert any("resample emotions only" in note for note in out["notes"])


def test_planted_difference_through_the_cli(runner, files):
    out = json.loads(_run(runner, files, "diff_a", "diff_b", ref=("diff_ref_a", "diff_ref_b"), extra=["--json"]).stdout)
    assert out["verdict"] == DIFFERENT and out["ci_high"] < out["reference_low"]


def test_rich_panel_says_verdict_layers_and_range(runner, files):
    result = _run(runner, files, "a", "b")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for needle in ("verdict:", COMPATIBLE, "reference range", "observed rho", "Mantel p", "1 method", "4 experiment",
                   "comprehension vs generation"):
        assert needle in text, needle


def test_unknown_precision_is_reported_and_makes_it_inconclusive(runner, files):
    out = json.loads(_run(runner, files, "no_precision", "b", extra=["--json"]).stdout)
    layer = next(x for x in out["layers"] if x["layer"] == "3 precision")
    assert layer["status"] == "unknown" and not layer["complete"] and "(unknown)" in layer["description"]
    assert out["verdict"] == "inconclusive" and "3 precision" in out["incomplete_layers"]


BAD = [
    (["@a", "@other_labels"], "only in"),
    (["@a", "@missing"], "missing.nc"),
    (["@a", "@truncated"], "truncated.nc"),
    (["@a", "@b", "--ci", "studentized"], "interval method"),
    (["@a", "@b", "--bootstrap", "texts"], "bootstrap scheme"),
    (["@a", "@b", "--confidence", "1.5"], "confidence"),
    (["@a", "@b", "--max-width", "3"], "max_interval_width"),
    (["@a", "@b", "--reference-model", "default"], "either --reference-model or --reference-files"),
    (["@a", "@b", "--baseline-limit", "4"], "--reference-files are used as they are"),
    (["@a", "@b", "--limit", "2"], "--reference-files are used as they are"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_gives_one_error_line_and_exit_2(runner, files, args, message):
    missing = files["a"].parent / "missing.nc"
    resolved = [str(files.get(a[1:], missing)) if a.startswith("@") else a for a in args]
    result = runner.invoke(cli, ["audit", resolved[0], resolved[1], "--reference-files", str(files["ref_a"]),
                                 str(files["ref_b"]), *FAST, *resolved[2:]])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args,culprit", [(("zero_a", "b", "ref_a", "ref_b"), "zero_a"),
                                          (("a", "b", "ref_a", "zero_ref_b"), "zero_ref_b")])
def test_an_unusable_vector_names_its_file_audited_or_reference(runner, files, args, culprit):
    """Found by the audit's property test (2026-12-07): the error said 'emotion vector ... has zero norm' without
    naming the file, for an audited file and for a reference file alike."""
    result = _run(runner, files, args[0], args[1], ref=args[2:])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {files[culprit]}: ") and "zero norm" in lines[0], lines


def test_a_warning_about_the_reference_pair_names_it(runner, files):
    """A reference pair with one geometry has no jackknife interval; the warning says which pair it is about, not only
    that some interval is missing."""
    result = _run(runner, files, "a", "b", ref=("ref_a", "ref_a_scaled"))
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warned and all(line.startswith(f"warning: reference {files['ref_a']} vs {files['ref_a_scaled']}: ")
                          for line in warned), warned
    assert "uninformative" in result.stdout


def test_missing_reference_model_is_one_line(runner, files, tmp_path):
    result = runner.invoke(cli, ["audit", str(files["a"]), str(files["b"]), "--reference-model",
                                 str(tmp_path / "no-such-model"), "--reference-dir", str(tmp_path / "refs"), *FAST])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "reference" in lines[0], lines


def test_reference_files_need_no_torch(files):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from rsastats.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['audit', {str(files['a'])!r}, {str(files['b'])!r}, '--reference-files', "
        f"{str(files['ref_a'])!r}, {str(files['ref_b'])!r}, '--n-boot', '50', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
