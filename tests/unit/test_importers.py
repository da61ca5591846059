"""Importers for vector sets published by other studies: every format round-trips; bad input fails in one line."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

from rsastats.io import open_vectors, write_dataset
from rsastats.exceptions import DependencyError, ImportFormatError, LabelError, ValidationError
from rsastats.io.importers import import_vectors, read_labels

LABELS = ["happy", "sad", "calm", "afraid"]


@pytest.fixture
def matrix():
    return np.random.default_rng(7).standard_normal((4, 6)).astype(np.float32)


def _check(ds, matrix, fmt, tmp_path):
    assert ds["emotion"].values.tolist() == LABELS
    np.testing.assert_array_equal(ds["vectors"].values, matrix)
    assert ds.attrs["source_format"] == fmt
    assert len(ds.attrs["source_sha256"]) == 64
    assert ds.attrs["hidden_size"] == 6
    back = open_vectors(write_dataset(ds, tmp_path / "out.nc"))  # write -> read identical
    np.testing.assert_array_equal(back["vectors"].values, matrix)
    assert back.attrs == ds.attrs


@pytest.mark.parametrize("kind", ["vectors", "rdm"])
def test_csv_that_is_not_utf8_or_uses_semicolons_gets_one_clear_line(tmp_path, matrix, kind):
    from rsastats.exceptions import InputError
    from rsastats.io.importers import import_rdm

    if kind == "vectors":
        text = "emotion,d0,d1\n" + "\n".join(f"{e},{i + 1},{i * i}" for i, e in enumerate(LABELS)) + "\n"
        load = import_vectors
    else:
        d = np.abs(np.subtract.outer(np.arange(4.0), np.arange(4.0)))
        text = "," + ",".join(LABELS) + "\n" + "\n".join(e + "," + ",".join(map(str, r)) for e, r in zip(LABELS, d)) + "\n"
        load = import_rdm
    latin, semi = tmp_path / "latin.csv", tmp_path / "semi.csv"
    latin.write_bytes(text.replace("calm", "calm\u00e9").encode("latin-1"))
    semi.write_text(text.replace(",", ";"))
    offset = text.index("calm") + 4
    with pytest.raises(InputError, match=f"not UTF-8 text \\(byte 0xe9 at offset {offset}\\)"):
        load(latin)
    with pytest.raises(InputError, match="separated by ';', not ','"):
        load(semi)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    load(bom)


def test_npy(tmp_path, matrix):
    p = tmp_path / "v.npy"
    np.save(p, matrix)
    ds = import_vectors(p, labels=LABELS, attrs={"model": "paper-model", "method": "generation", "precision": "int8"})
    _check(ds, matrix, "npy", tmp_path)
    assert ds.attrs["model"] == "paper-model" and ds.attrs["source"] == "v.npy"


def test_npy_labels_from_file(tmp_path, matrix):
    np.save(tmp_path / "v.npy", matrix)
    (tmp_path / "labels.txt").write_text("\n".join(LABELS) + "\n")
    _check(import_vectors(tmp_path / "v.npy", labels=tmp_path / "labels.txt"), matrix, "npy", tmp_path)


def test_npy_needs_labels(tmp_path, matrix):
    np.save(tmp_path / "v.npy", matrix)
    with pytest.raises(LabelError, match="holds no labels"):
        import_vectors(tmp_path / "v.npy")


def test_npy_with_pickled_objects_is_refused(tmp_path):
    p = tmp_path / "v.npy"
    np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ImportFormatError, match="pickled objects"):
        import_vectors(p, labels=["a"])


def test_npz_matrix_with_labels(tmp_path, matrix):
    p = tmp_path / "v.npz"
    np.savez(p, vectors=matrix, emotions=np.array(LABELS))
    _check(import_vectors(p), matrix, "npz", tmp_path)


def test_npz_one_array_per_emotion(tmp_path, matrix):
    p = tmp_path / "v.npz"
    np.savez(p, **{lab: matrix[i] for i, lab in enumerate(LABELS)})
    _check(import_vectors(p), matrix, "npz", tmp_path)


def test_npz_ambiguous(tmp_path, matrix):
    p = tmp_path / "v.npz"
    np.savez(p, a=matrix, b=matrix)
    with pytest.raises(ImportFormatError, match="name it with --key"):
        import_vectors(p, labels=LABELS)
    _check(import_vectors(p, labels=LABELS, key="b"), matrix, "npz", tmp_path)


def test_safetensors(tmp_path, matrix):
    from safetensors.numpy import save_file

    p = tmp_path / "v.safetensors"
    save_file({lab: matrix[i].copy() for i, lab in enumerate(LABELS)}, str(p))
    ds = import_vectors(p, labels=LABELS)  # labels fix the order
    _check(ds, matrix, "safetensors", tmp_path)


def test_safetensors_corrupt(tmp_path):
    p = tmp_path / "v.safetensors"
    p.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ImportFormatError, match="not a readable safetensors file"):
        import_vectors(p, labels=LABELS)


def test_csv(tmp_path, matrix):
    p = tmp_path / "v.csv"
    rows = ["emotion," + ",".join(f"d{j}" for j in range(6))]
    rows += [lab + "," + ",".join(repr(float(x)) for x in matrix[i]) for i, lab in enumerate(LABELS)]
    p.write_text("\n".join(rows) + "\n")
    _check(import_vectors(p), matrix, "csv", tmp_path)


def test_csv_non_numeric_cell(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text("emotion,d0,d1\nhappy,1.0,2.0\nsad,0.5,oops\n")
    with pytest.raises(ImportFormatError, match="non-numeric cell 'oops' at row 3, column 'd1'") as exc:
        import_vectors(p)
    assert str(exc.value).startswith(str(p)) and "\n" not in str(exc.value)


def test_csv_duplicated_labels(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text("emotion,d0,d1\nhappy,1.0,2.0\nhappy,0.5,1\n")
    with pytest.raises(LabelError, match="duplicated emotion label 'happy'") as exc:
        import_vectors(p)
    assert str(exc.value).startswith(str(p))


def test_csv_with_nan_cell(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text("emotion,d0,d1\nhappy,1.0,2.0\nsad,nan,1\n")
    with pytest.raises(ValidationError, match="NaN or Inf in 'vectors'"):
        import_vectors(p)


def test_hidden_size_disagrees_with_metadata(tmp_path, matrix):
    np.save(tmp_path / "v.npy", matrix)
    with pytest.raises(ValidationError, match="hidden size 6 disagrees with its metadata \\(hidden_size=2048\\)") as exc:
        import_vectors(tmp_path / "v.npy", labels=LABELS, attrs={"hidden_size": 2048})
    assert str(exc.value).startswith(str(tmp_path / "v.npy"))


def test_label_count_mismatch(tmp_path, matrix):
    np.save(tmp_path / "v.npy", matrix)
    with pytest.raises(LabelError, match="3 labels for 4 vectors"):
        import_vectors(tmp_path / "v.npy", labels=LABELS[:3])


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "v.h5").write_bytes(b"x")
    with pytest.raises(ImportFormatError, match="unknown vector-set format '.h5'"):
        import_vectors(tmp_path / "v.h5")
    with pytest.raises(ImportFormatError, match="file not found"):
        import_vectors(tmp_path / "none.npy")


def test_read_labels_forms(tmp_path):
    assert read_labels("a, b,c") == ["a", "b", "c"]
    assert read_labels(("x", "y")) == ["x", "y"]
    assert read_labels(None) is None


# ----------------------------------------------------------------- .pt (needs torch)
torch = pytest.importorskip("torch")


def test_pt_tensor_and_dict(tmp_path, matrix):
    p = tmp_path / "v.pt"
    torch.save(torch.from_numpy(matrix), p)
    _check(import_vectors(p, labels=LABELS), matrix, "pt", tmp_path)
    p2 = tmp_path / "d.pt"
    torch.save(collections.OrderedDict((lab, torch.from_numpy(matrix[i])) for i, lab in enumerate(LABELS)), p2)
    _check(import_vectors(p2), matrix, "pt", tmp_path)
    p3 = tmp_path / "m.pt"
    torch.save({"vectors": torch.from_numpy(matrix), "emotions": LABELS}, p3)
    _check(import_vectors(p3), matrix, "pt", tmp_path)


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pt_with_pickled_code_is_refused(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"vectors": torch.zeros(2, 2), "x": _Payload()}, p)
    with pytest.raises(ImportFormatError, match="holds a pickled posix.system object, which is not loaded because unpickling can run code") as exc:
        import_vectors(p, labels=["a", "b"])
    assert "\n" not in str(exc.value) and str(exc.value).startswith(str(p))


@pytest.mark.parametrize("content", ["legacy", "garbage"])
def test_pt_that_is_not_a_zip_archive_is_refused_before_torch_reads_it(tmp_path, matrix, monkeypatch, content):
    """A legacy (pre-1.6) .pt declares its storage sizes in the pickle, and torch allocates them before reading:
    such files (and non-archives) are refused without calling torch.load."""
    p = tmp_path / "v.pt"
    if content == "legacy":
        torch.save(torch.from_numpy(matrix), p, _use_new_zipfile_serialization=False)
    else:
        p.write_bytes(b"\x80\x02" + os.urandom(64))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(ImportFormatError, match="not a torch zip archive") as exc:
        import_vectors(p, labels=LABELS)
    assert "\n" not in str(exc.value) and str(exc.value).startswith(str(p))


def test_pt_without_torch_says_what_to_install(tmp_path, matrix, monkeypatch):
    import builtins

    p = tmp_path / "v.pt"
    torch.save(torch.from_numpy(matrix), p)
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("no torch")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(DependencyError, match="needs torch"):
        import_vectors(p, labels=LABELS)
