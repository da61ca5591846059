"""`rsastats import --prompts`: per-prompt activations made by other tools (plain arrays, per-emotion files, CSV) become
activations files, with ragged prompt counts as invalid padding; `rsastats compare` on them gives the rho that scipy
gives on the cosine RDMs of the valid prompts' means, and rho_corrected where a vector set cannot; bad inputs give one
`error:` line, exit 2, naming the file, and write nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

import rsastats
from rsastats.cli import cli
from rsastats.exceptions import InputError
from rsastats.io import open_activations

EMOTIONS = ["happy", "sad", "calm", "afraid", "angry", "proud", "bored", "tender"]
FAST = ["--n-boot", "50", "--permutations", "99", "--json"]


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def run_json(*args):
    """The JSON object on stdout (warnings go to stderr)."""
    result = CliRunner().invoke(cli, [str(a) for a in args] + FAST)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _prompts(seed, n_prompts=6, hidden=24, layers=None):
    """Shared emotion geometry plus prompt noise: (emotion, prompt[, layer], hidden)."""
    rng = np.random.default_rng(seed)
    means = np.random.default_rng(99).standard_normal((len(EMOTIONS), hidden)) * 2
    means = means + 0.7 * rng.standard_normal(means.shape)
    shape = (len(EMOTIONS), n_prompts) + ((layers,) if layers else ()) + (hidden,)
    centre = means[:, None, None, :] if layers else means[:, None, :]
    return centre + rng.standard_normal(shape)


def _rho(a, b):
    """scipy's Spearman rho of the cosine RDMs of the valid prompts' means (NaN prompts left out)."""
    return spearmanr(pdist(np.nanmean(a, axis=1), "cosine"), pdist(np.nanmean(b, axis=1), "cosine"))[0]


def test_padded_npy_arrays_compare_as_scipy_and_give_rho_corrected(tmp_path):
    a, b = _prompts(1), _prompts(2)
    b[2, 4:] = np.nan  # emotion "calm" has 4 prompts
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    for name in "ab":
        code, out = run("import", tmp_path / f"{name}.npy", "--prompts", "--labels", ",".join(EMOTIONS), "--out",
                        tmp_path / f"{name}.nc", "--json")
        assert code == 0, out
        summary = json.loads(out)
        assert summary["kind"] == "activations" and summary["n_prompts"] == 6
    assert summary["valid_prompts_per_emotion"] == [4, 6]
    ds = open_activations(tmp_path / "b.nc")
    assert ds["valid"].values.sum(axis=1).tolist() == [6, 6, 4, 6, 6, 6, 6, 6]
    assert list(ds["layer"].values) == [0] and ds.attrs["layer_convention"] == ""
    np.testing.assert_allclose(ds["activations"].values[:, :4, 0], b[:, :4].astype(np.float32))
    result = run_json("compare", tmp_path / "a.nc", tmp_path / "b.nc")
    assert result["rho"] == pytest.approx(_rho(a.astype(np.float32), b.astype(np.float32)), abs=1e-6)
    assert result["rho_corrected"] is not None and result["noise_ceiling"] is not None
    assert result["corrected_ci_low"] <= result["rho_corrected"] <= result["corrected_ci_high"]


def test_npz_with_layers_valid_and_text_converts_the_layer_convention(tmp_path):
    acts = _prompts(3, n_prompts=5, layers=3)
    valid = np.ones(acts.shape[:2], dtype=np.int8)
    valid[0, 3:] = 0
    acts[0, 3:] = 0.0  # the values of invalid prompts are ignored, whatever they are
    text = np.array([[f"{e} text {p}" for p in range(5)] for e in EMOTIONS])
    np.savez(tmp_path / "acts.npz", activations=acts, emotions=np.array(EMOTIONS), layers=np.array([4, 8, 12]),
             valid=valid, text=text)
    code, out = run("import", tmp_path / "acts.npz", "--prompts", "--layer-convention", "block", "--out",
                    tmp_path / "acts.nc")
    assert code == 0, out
    assert "x 3-5 prompts" in out and "3 layers (5..13" in out
    ds = open_activations(tmp_path / "acts.nc")
    assert list(ds["layer"].values) == [5, 9, 13] and ds.attrs["source_layers"] == "4, 8, 12"
    assert ds["valid"].values.tolist() == valid.tolist()
    assert ds["text"].values[1, 2] == "sad text 2"
    result = run_json("compare", tmp_path / "acts.nc", tmp_path / "acts.nc", "--layer", "9")
    assert result["rho"] == pytest.approx(1.0) and result["layer"].startswith("layer 9")


def test_per_emotion_files_and_csv_with_ragged_prompt_counts(tmp_path):
    torch = pytest.importorskip("torch")
    acts = _prompts(4)
    counts = [6, 3, 5, 6, 2, 6, 4, 6]
    folder = tmp_path / "per_emotion"
    folder.mkdir()
    for e, n in zip(EMOTIONS, counts):
        np.save(folder / f"{e}.npy", acts[EMOTIONS.index(e), :n])
    torch.save({e: torch.tensor(acts[i, :n]) for i, (e, n) in enumerate(zip(EMOTIONS, counts))}, tmp_path / "d.pt")
    rows = ["emotion,text," + ",".join(f"d{j}" for j in range(acts.shape[-1]))]
    for p in range(6):  # prompts interleaved across emotions: an emotion's rows are its prompts, in file order
        for i, (e, n) in enumerate(zip(EMOTIONS, counts)):
            if p < n:
                rows.append(f"{e},\"{e}, prompt {p}\"," + ",".join(repr(float(v)) for v in acts[i, p]))
    (tmp_path / "acts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    files = {}
    for name, source in (("folder", folder), ("pt", tmp_path / "d.pt"), ("csv", tmp_path / "acts.csv")):
        code, out = run("import", source, "--prompts", "--labels", ",".join(EMOTIONS), "--out", tmp_path / f"{name}.nc")
        assert code == 0, (name, out)
        files[name] = open_activations(tmp_path / f"{name}.nc")
        assert files[name]["valid"].values.sum(axis=1).tolist() == counts, name
        assert list(files[name]["emotion"].values) == EMOTIONS
    for name in ("pt", "csv"):
        np.testing.assert_array_equal(files[name]["activations"].values[files[name]["valid"].values == 1],
                                      files["folder"]["activations"].values[files["folder"]["valid"].values == 1])
    assert files["csv"]["text"].values[4, 1] == "angry, prompt 1"
    assert run_json("compare", tmp_path / "folder.nc", tmp_path / "csv.nc")["rho"] == pytest.approx(1.0)


def test_python_import_activations_equals_make_activations(tmp_path):
    acts = _prompts(5, layers=2)
    np.save(tmp_path / "a.npy", acts)
    imported = rsastats.import_activations(tmp_path / "a.npy", labels=EMOTIONS, attrs={"model": "m"})
    made = rsastats.make_activations(acts, EMOTIONS)
    np.testing.assert_array_equal(imported["activations"].values, made["activations"].values)
    assert imported.attrs["model"] == "m" and imported.attrs["source_format"] == "npy"
    assert "software" in imported.attrs["unknown_attributes"]


def _bad(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    acts = _prompts(6)
    labels = ["--labels", ",".join(EMOTIONS)]
    partial = acts.copy()
    partial[1, 2, :5] = np.nan
    np.save(bad / "partial.npy", partial)
    empty = acts.copy()
    empty[3] = np.nan
    np.save(bad / "empty.npy", empty)
    np.save(bad / "flat.npy", acts[:, 0])
    np.save(bad / "fewlabels.npy", acts[:5])
    np.savez(bad / "badvalid.npz", activations=acts, emotions=np.array(EMOTIONS), valid=np.full(acts.shape[:2], 2))
    np.save(bad / "inf.npy", np.where(np.arange(acts.size).reshape(acts.shape) == 7, np.inf, acts))
    (bad / "ragged").mkdir()
    np.save(bad / "ragged" / "happy.npy", acts[0])
    np.save(bad / "ragged" / "sad.npy", acts[1, :, :10])
    return {  # name: (fragment of the message, extra arguments)
        "partial.npy": ("emotion 'sad', prompt 2: some values are NaN", labels),
        "empty.npy": ("afraid", labels),
        "flat.npy": ("3-D (emotion, prompt, hidden)", labels),
        "fewlabels.npy": ("8 labels for 5 emotions", labels),
        "badvalid.npz": ("only 0 and 1", []),
        "inf.npy": ("happy", labels),
        "ragged": ("differ beyond their prompt axis", []),
    }


def test_bad_per_prompt_inputs_one_error_line_exit_2_nothing_written(tmp_path):
    for name, (fragment, extra) in _bad(tmp_path).items():
        out_file = tmp_path / f"{name}.nc"
        code, out = run("import", tmp_path / "bad" / name, "--prompts", *extra, "--out", out_file)
        lines = out.strip().splitlines()
        assert code == 2, (name, out)
        assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], (name, out)
        assert fragment in lines[0], (name, out)
        assert not out_file.exists()
    with pytest.raises(InputError, match="some values are NaN"):
        rsastats.import_activations(tmp_path / "bad" / "partial.npy", labels=EMOTIONS)
    code, out = run("import", tmp_path / "bad" / "flat.npy", "--prompts", "--rdm", "--out", tmp_path / "x.nc")
    assert code == 2 and "give one of --prompts and --rdm" in out and not (tmp_path / "x.nc").exists()


def test_one_layer_is_the_layer_the_metadata_names(tmp_path):
    np.save(tmp_path / "a.npy", _prompts(7))
    (tmp_path / "meta.json").write_text('{"model": "peer", "layers": 14}', encoding="utf-8")
    labels = ["--labels", ",".join(EMOTIONS)]
    code, out = run("import", tmp_path / "a.npy", "--prompts", *labels, "--meta", tmp_path / "meta.json",
                    "--layer-convention", "steering-vectors", "--out", tmp_path / "a.nc")
    assert code == 0 and "at layer 15 (convention hidden-states)" in out, out
    ds = open_activations(tmp_path / "a.nc")
    assert list(ds["layer"].values) == [15] and ds.attrs["source_layers"] == "14" and "layers" not in ds.attrs
    code, out = run("import", tmp_path / "a.npy", "--prompts", *labels, "--layer-convention", "hf", "--out",
                    tmp_path / "b.nc")
    assert code == 2 and "needs the metadata's 'layers' to name one layer" in out and not (tmp_path / "b.nc").exists()
    (tmp_path / "two.json").write_text('{"layers": "3, 4"}', encoding="utf-8")
    code, out = run("import", tmp_path / "a.npy", "--prompts", *labels, "--meta", tmp_path / "two.json", "--out",
                    tmp_path / "c.nc")
    assert code == 2 and "not '3, 4'" in out and not (tmp_path / "c.nc").exists()


def test_text_column_names_the_csv_column_of_texts(tmp_path):
    acts = _prompts(8, n_prompts=2, hidden=3)
    rows = ["emotion,prompt_text,d0,d1,d2"] + [f"{e},{e} #{p}," + ",".join(repr(float(v)) for v in acts[i, p])
                                               for i, e in enumerate(EMOTIONS) for p in range(2)]
    (tmp_path / "a.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out = run("import", tmp_path / "a.csv", "--prompts", "--out", tmp_path / "x.nc")
    assert code == 2 and "non-numeric cell" in out and "prompt_text" in out  # not a number, and not named
    code, out = run("import", tmp_path / "a.csv", "--prompts", "--text-column", "prompt_text", "--out",
                    tmp_path / "a.nc")
    assert code == 0, out
    assert open_activations(tmp_path / "a.nc")["text"].values[2, 1] == "calm #1"
    for extra, message in ((["--text-column", "texts"], "no 'texts' column"),
                           (["--text-column", "prompt_text", "--rdm"], "give one of --prompts and --rdm")):
        code, out = run("import", tmp_path / "a.csv", "--prompts", *extra, "--out", tmp_path / "b.nc")
        assert code == 2 and message in out and not (tmp_path / "b.nc").exists(), out
    code, out = run("import", tmp_path / "a.csv", "--text-column", "prompt_text", "--out", tmp_path / "b.nc")
    assert code == 2 and "applies with --prompts only" in out
    np.save(tmp_path / "a.npy", acts)
    code, out = run("import", tmp_path / "a.npy", "--prompts", "--labels", ",".join(EMOTIONS), "--text-column", "t",
                    "--out", tmp_path / "b.nc")
    assert code == 2 and "CSV/TSV source only" in out


def test_npz_layouts_one_stacked_array_or_one_array_per_emotion(tmp_path):
    """One (emotion, prompt, hidden) array with --labels, or with a 'valid' array, is the stacked layout; one
    (prompt, hidden) array per emotion is the per-emotion layout; a single array without labels asks for them."""
    acts = _prompts(9)
    labels = ["--labels", ",".join(EMOTIONS)]
    valid = np.ones(acts.shape[:2], dtype=np.int8)
    valid[1, 3:] = 0
    np.savez(tmp_path / "one.npz", activations=acts)
    np.savez(tmp_path / "valid.npz", activations=acts, valid=valid)
    np.savez(tmp_path / "per.npz", **{e: acts[i, : 3 + i % 3] for i, e in enumerate(EMOTIONS)})
    expected = {"one": [6] * 8, "valid": valid.sum(axis=1).tolist(), "per": [3 + i % 3 for i in range(8)]}
    for name, extra in (("one", labels), ("valid", labels), ("per", []), ("per", labels)):
        code, out = run("import", tmp_path / f"{name}.npz", "--prompts", *extra, "--overwrite", "--out",
                        tmp_path / f"{name}.nc")
        assert code == 0, (name, out)
        ds = open_activations(tmp_path / f"{name}.nc")
        assert list(ds["emotion"].values) == EMOTIONS and ds["valid"].values.sum(axis=1).tolist() == expected[name]
    code, out = run("import", tmp_path / "one.npz", "--prompts", "--out", tmp_path / "x.nc")
    assert code == 2 and "give --labels" in out and not (tmp_path / "x.nc").exists()


def test_an_activations_file_written_out_as_arrays_and_imported_compares_the_same(tmp_path):
    """Round trip: an activations file (ragged valid prompts, 3 layers) exported as plain arrays and imported with
    --prompts gives `compare` the same numbers, rho_corrected and its interval included, as the file itself."""
    from rsastats.io import write_dataset
    from rsastats.simulate import simulate_activations, true_vectors

    truth = true_vectors(8, 12, seed=3)
    files = {}
    for name, seed in (("a", 1), ("b", 2)):
        ds = simulate_activations(8, 6, 3, 12, noise=0.8, vectors=truth, seed=seed)
        valid = np.ones((8, 6), dtype=np.int8)
        valid[seed, 4:] = 0
        ds["valid"] = (("emotion", "prompt"), valid)
        files[name] = write_dataset(ds, tmp_path / f"{name}.nc")
    ds = open_activations(files["b"])
    acts = np.where(ds["valid"].values[:, :, None, None] == 1, ds["activations"].values, np.nan)
    np.savez(tmp_path / "b.npz", activations=acts, emotions=ds["emotion"].values.astype(str),
             layers=ds["layer"].values)
    code, out = run("import", tmp_path / "b.npz", "--prompts", "--layer-convention", "hf", "--out", tmp_path / "b2.nc")
    assert code == 0, out
    direct = run_json("compare", files["a"], files["b"], "--seed", "5")
    imported = run_json("compare", files["a"], tmp_path / "b2.nc", "--seed", "5")
    for key in ("rho", "ci_low", "ci_high", "p_value", "rho_corrected", "corrected_ci_low", "corrected_ci_high",
                "noise_ceiling", "corrected_note"):
        assert imported[key] == direct[key], key
    assert direct["rho_corrected"] is not None
