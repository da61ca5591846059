"""Schema v1: constructors, validation, round trips and atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from rsastats import io as rsio
from rsastats.io import (
    make_activations,
    make_rdm,
    make_vectors,
    open_activations,
    open_dataset,
    open_rdm,
    open_vectors,
    write_dataset,
)
from rsastats.exceptions import FileFormatError, LabelError, SchemaError, ValidationError


def _identical(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    assert a.attrs == b.attrs


def test_activations_round_trip(tmp_path, activations_ds):
    path = write_dataset(activations_ds, tmp_path / "a.nc")
    back = open_activations(path)
    _identical(activations_ds, back)
    assert back["activations"].dtype == np.float32
    assert back.attrs["schema"] == rsio.SCHEMA_ACTIVATIONS
    assert list(back["text"].values[0, :2]) == list(activations_ds["text"].values[0, :2])


def test_activations_round_trip_with_valid_mask_and_nan_in_masked_cells(tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 5))
    valid = np.ones((3, 4), dtype=int)
    valid[1, 3] = 0
    x[1, 3] = np.nan  # ignored because masked
    ds = make_activations(x, ["a", "b", "c"], valid=valid, attrs={"model": "m", "precision": "bf16"})
    back = open_activations(write_dataset(ds, tmp_path / "a.nc"))
    _identical(ds, back)
    assert back["valid"].dtype == np.int8


def test_vectors_and_rdm_round_trip(tmp_path, vectors_ds, rdm_ds):
    _identical(vectors_ds, open_vectors(write_dataset(vectors_ds, tmp_path / "v.nc")))
    _identical(rdm_ds, open_rdm(write_dataset(rdm_ds, tmp_path / "r.nc")))


def test_layered_vectors_round_trip(tmp_path):
    ds = make_vectors(np.ones((4, 3, 5)) + np.arange(5), list("abcd"), layers=[2, 5, 9])
    back = open_vectors(write_dataset(ds, tmp_path / "v.nc"), layers=[5])
    assert back["layer"].values.tolist() == [5]


def test_open_dataset_reports_kind(activations_file):
    kind, ds = open_dataset(activations_file)
    assert kind == "activations" and ds.sizes["emotion"] == 6


def test_open_selected_layers(activations_file):
    ds = open_activations(activations_file, layers=[1])
    assert ds["layer"].values.tolist() == [1]
    with pytest.raises(ValidationError, match=r"no layer\(s\) \[7\]"):
        open_activations(activations_file, layers=[7])


def test_wrong_kind_is_refused(activations_file):
    with pytest.raises(SchemaError, match="holds activations, not vectors"):
        open_vectors(activations_file)


def test_attrs_none_and_bool_are_coerced():
    attrs = rsio.make_attrs("vectors", temperature=None, chat_template=True)
    assert attrs["temperature"] == "" and attrs["chat_template"] == 1
    assert attrs["created"] and "rsastats" in attrs["software"]


def test_attr_that_netcdf_cannot_store():
    with pytest.raises(ValidationError, match="attribute 'model'"):
        rsio.make_attrs("vectors", model={"a": 1})


@pytest.mark.parametrize("attr, value", [("precision", "int4"), ("method", "reading"), ("variant", "chat")])
def test_unknown_attr_values_are_refused(attr, value):
    with pytest.raises(SchemaError, match=f"attribute {attr}="):
        make_vectors(np.ones((4, 3)) + np.eye(4, 3), list("abcd"), attrs={attr: value})


# ----------------------------------------------------------------- bad files: one-line errors naming the file
def _assert_one_line(exc: pytest.ExceptionInfo, path) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(str(path))


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="file not found") as exc:
        open_activations(tmp_path / "nope.nc")
    _assert_one_line(exc, tmp_path / "nope.nc")


def test_not_netcdf(tmp_path):
    p = tmp_path / "x.nc"
    p.write_text("emotion,value\nhappy,1\n")
    with pytest.raises(FileFormatError, match="not a NetCDF file") as exc:
        open_activations(p)
    _assert_one_line(exc, p)


def test_empty_file(tmp_path):
    p = tmp_path / "x.nc"
    p.write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty file"):
        open_dataset(p)


@pytest.mark.parametrize("keep", [0.2, 0.6, 0.95])
def test_truncated_file(tmp_path, activations_file, keep):
    raw = activations_file.read_bytes()
    p = tmp_path / "cut.nc"
    p.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(FileFormatError, match="truncated or corrupt") as exc:
        open_activations(p)
    _assert_one_line(exc, p)


def test_foreign_netcdf_without_schema(tmp_path):
    p = tmp_path / "foreign.nc"
    xr.Dataset({"t": (("x",), np.arange(3.0))}, attrs={"title": "weather"}).to_netcdf(p, engine="netcdf4")
    with pytest.raises(SchemaError, match="no 'schema' attribute") as exc:
        open_dataset(p)
    _assert_one_line(exc, p)


def test_foreign_netcdf_with_unknown_schema(tmp_path):
    p = tmp_path / "foreign.nc"
    xr.Dataset({"t": (("x",), np.arange(3.0))}, attrs={"schema": "other.tool/3"}).to_netcdf(p)
    with pytest.raises(SchemaError, match="unknown schema 'other.tool/3'"):
        open_dataset(p)


def _raw_write(ds: xr.Dataset, path) -> None:
    """Write without validation (to plant a bad file on disk)."""
    ds.to_netcdf(path, engine="netcdf4", encoding=rsio.netcdf_encoding(ds))


def test_missing_required_attrs(tmp_path, activations_ds):
    p = tmp_path / "a.nc"
    bad = activations_ds.copy()
    bad.attrs = {k: v for k, v in bad.attrs.items() if k not in ("precision", "method")}
    _raw_write(bad, p)
    with pytest.raises(SchemaError, match="missing required attribute\\(s\\): method, precision") as exc:
        open_activations(p)
    _assert_one_line(exc, p)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_values(tmp_path, activations_ds, bad_value):
    p = tmp_path / "a.nc"
    bad = activations_ds.copy(deep=True)
    bad["activations"].values[2, 1, 0, 3] = bad_value
    _raw_write(bad, p)
    with pytest.raises(ValidationError, match="NaN or Inf in 'activations': 1 value\\(s\\), first at emotion='calm', prompt=1, layer=0, hidden=3") as exc:
        open_activations(p)
    _assert_one_line(exc, p)


def test_nan_in_baseline(tmp_path, activations_ds):
    p = tmp_path / "a.nc"
    bad = activations_ds.copy(deep=True)
    bad["baseline"].values[0, 0, 0] = np.nan
    _raw_write(bad, p)
    with pytest.raises(ValidationError, match="NaN or Inf in 'baseline'"):
        open_activations(p)


def test_duplicated_emotion_labels_on_disk(tmp_path, activations_ds):
    p = tmp_path / "a.nc"
    labels = activations_ds["emotion"].values.copy()
    labels[3] = labels[0]
    _raw_write(activations_ds.assign_coords(emotion=labels), p)
    with pytest.raises(LabelError, match="duplicated emotion label 'happy' \\(positions 0 and 3\\)") as exc:
        open_activations(p)
    _assert_one_line(exc, p)


def test_duplicated_labels_in_constructor():
    with pytest.raises(LabelError, match="duplicated emotion label 'a'"):
        make_vectors(np.eye(3), ["a", "b", "a"])


def test_empty_label_in_constructor():
    with pytest.raises(LabelError, match="empty emotion label"):
        make_vectors(np.eye(3), ["a", " ", "c"])


@pytest.mark.parametrize("dim", ["emotion", "prompt"])
def test_empty_dimension(tmp_path, activations_ds, dim):
    p = tmp_path / "a.nc"
    # netCDF4 cannot write an empty variable-length string array: store labels as bytes here
    activations_ds.drop_vars("text").isel({dim: slice(0, 0)}).to_netcdf(p, encoding={"emotion": {"dtype": "S1"}})
    with pytest.raises((ValidationError, LabelError), match=f"empty '{dim}' dimension|no {dim} labels") as exc:
        open_activations(p)
    _assert_one_line(exc, p)


def test_text_coordinate_shape_mismatch(tmp_path, activations_ds):
    p = tmp_path / "a.nc"
    bad = activations_ds.drop_vars("text").assign_coords(text=(("emotion",), np.array(["x"] * 6, dtype=object)))
    _raw_write(bad, p)
    with pytest.raises(SchemaError, match="'text' has dimensions \\(emotion\\)") as exc:
        open_activations(p)
    _assert_one_line(exc, p)


def test_vector_hidden_size_disagrees_with_metadata(tmp_path, vectors_ds):
    p = tmp_path / "v.nc"
    bad = vectors_ds.copy()
    bad.attrs["hidden_size"] = 4096
    _raw_write(bad, p)
    with pytest.raises(ValidationError, match="hidden size 8 disagrees with its metadata \\(hidden_size=4096\\)") as exc:
        open_vectors(p)
    _assert_one_line(exc, p)


def test_all_zero_vector_refused():
    v = np.ones((4, 3))
    v[2] = 0
    with pytest.raises(ValidationError, match="all-zero vector"):
        make_vectors(v, list("abcd"))


def test_emotion_without_valid_prompt():
    with pytest.raises(ValidationError, match="no valid prompt for emotion\\(s\\): b"):
        make_activations(np.ones((2, 2, 1, 3)), ["a", "b"], valid=[[1, 1], [0, 0]])


def test_valid_mask_values():
    with pytest.raises(ValidationError, match="only 0 and 1"):
        make_activations(np.ones((2, 2, 1, 3)), ["a", "b"], valid=[[1, 2], [1, 1]])


def test_rdm_checks():
    good = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0.0]])
    # the cell named in plain quotes with both values (it read "cell np.str_('a'),np.str_('b')")
    with pytest.raises(ValidationError, match=r"not symmetric: cell \('a', 'b'\) holds 2, cell \('b', 'a'\) 1$"):
        make_rdm(good + np.triu(np.ones((3, 3)), 1), list("abc"))
    with pytest.raises(ValidationError, match=r"non-zero diagonal: cell \('a', 'a'\) holds 1$"):
        make_rdm(good + np.eye(3), list("abc"))
    with pytest.raises(LabelError, match="2 emotion labels for an RDM with 3 rows"):
        make_rdm(good, list("ab"))


def test_rdm_with_different_row_and_column_labels(tmp_path, rdm_ds):
    p = tmp_path / "r.nc"
    _raw_write(rdm_ds.assign_coords(emotion_=["z", "y", "x", "w", "q"]), p)
    with pytest.raises(LabelError, match=r"row and column labels of the RDM differ \(not the same labels;"):
        open_rdm(p)
    _raw_write(rdm_ds.assign_coords(emotion_=list(rdm_ds["emotion"].values[::-1])), p)
    with pytest.raises(LabelError, match=r"row and column labels of the RDM differ \(in another order;"):
        open_rdm(p)


def test_dimension_order_on_disk_is_normalised(tmp_path, activations_ds):
    p = tmp_path / "a.nc"
    _raw_write(activations_ds.transpose("hidden", "layer", "prompt", "emotion", "sample"), p)
    back = open_activations(p)
    assert back["activations"].dims == ("emotion", "prompt", "layer", "hidden")
    np.testing.assert_array_equal(back["activations"].values, activations_ds["activations"].values)


# ----------------------------------------------------------------- atomic writes
def test_interrupted_write_leaves_nothing(tmp_path, activations_ds, monkeypatch):
    target = tmp_path / "a.nc"
    real = xr.Dataset.to_netcdf

    def half_then_fail(self, path, *args, **kwargs):
        real(self.isel(emotion=slice(0, 2)), path, *args, **kwargs)  # some bytes reach the disk
        raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(activations_ds, target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == [".a.nc.lock"]  # the output's lock file stays, nothing else


def test_interrupted_overwrite_keeps_old_file(tmp_path, activations_ds, vectors_ds, monkeypatch):
    target = write_dataset(vectors_ds, tmp_path / "v.nc")
    before = target.read_bytes()

    def fail(self, path, *args, **kwargs):
        open(path, "wb").write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fail)
    with pytest.raises(FileFormatError, match=r"v.nc: cannot be written: disk full"):  # one line naming the file
        write_dataset(vectors_ds, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".v.nc.lock", "v.nc"]


def test_invalid_dataset_is_not_written(tmp_path, vectors_ds):
    bad = vectors_ds.copy(deep=True)
    bad["vectors"].values[0, 0] = np.nan
    with pytest.raises(ValidationError):
        write_dataset(bad, tmp_path / "v.nc")
    assert not (tmp_path / "v.nc").exists()


def test_rsastats_data_still_exports_the_io_names():
    """``rsastats.data`` is the old home of the file layer (README and scripts import it)."""
    import rsastats
    import rsastats.data as old

    for name in old.__all__:
        assert getattr(old, name) is getattr(rsio, name), name
    assert set(old.__all__) <= set(rsio.__all__)
    for name in ("open_activations", "write_dataset", "make_vectors", "import_vectors"):
        assert getattr(rsastats, name) is getattr(rsio, name)


def test_file_sha256_reads_the_bytes(tmp_path):
    import hashlib

    path = tmp_path / "blob.bin"
    payload = bytes(range(256)) * 9000  # more than one 1 MiB block
    path.write_bytes(payload)
    assert rsio.file_sha256(path) == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize("value, text", [(0.7, "0.7"), ("0.70", "0.7"), (100, "100"), ("100.0", "100"), (np.int8(1), "1"),
                                         (None, ""), ("", ""), (" fp16 ", "fp16"), ("inf", "inf"), ("nan", "nan"),
                                         (["a", 2.50], "a, 2.5"), (np.array([1.0, 2.0]), "1, 2")])
def test_attribute_text_spells_numbers_one_way(value, text):
    assert rsio.attribute_text(value) == text


def test_values_float32_cannot_hold_are_refused_not_stored_changed():
    """The file format stores float32.  Finite float64 values beyond its range became infinite and were reported as
    "NaN or Inf" the user's array did not hold; vectors below its normal range became 0 (or lost their precision)
    and were reported as "all-zero vectors" (found 2026-12-07 importing vectors scaled by 1e300 and 1e-50)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    labels = ["a", "b", "c", "d"]
    with pytest.raises(ValidationError, match=r"6 value\(s\) of vectors, first at emotion 'a', hidden 0, lie beyond "
                                              r"the range of float32"):
        make_vectors(np.vstack([x[:1] * 1e300, x[1:]]), labels)
    with pytest.raises(ValidationError, match=r"vectors at emotion 'd': a vector of length .* is too small for float32"):
        make_vectors(np.vstack([x[:3], x[3:] * 1e-50]), labels)
    acts = rng.standard_normal((4, 3, 2, 6))
    acts[2, 1, 0] *= 1e-45
    with pytest.raises(ValidationError, match=r"activations at emotion 'c', prompt 1, layer 0: a vector of length"):
        make_activations(acts, labels)
    kept = x.copy()
    kept[0, 0] = 1e-40  # one tiny entry beside ordinary ones: float32 changes the vector by far less than 1e-6
    assert make_vectors(kept, labels)["vectors"].dtype == np.float32
    scaled = make_vectors(x * 1e-30, labels)["vectors"].values  # small, but inside float32's normal range
    np.testing.assert_allclose(scaled, x * 1e-30, rtol=1e-6)


@pytest.mark.parametrize("layers,error,match", [([0.5, 1.5], SchemaError, "'layer' coordinate must hold integers, found "
                                                  "float64"),
                                                 ([3, 3], LabelError, "duplicated 'layer' values: 3")])
@pytest.mark.parametrize("selected", [None, [-1], lambda labels: labels[-1:]])
def test_a_bad_layer_coordinate_is_named_not_called_corrupt(tmp_path, activations_ds, layers, error, match, selected):
    """A float or repeated layer label was reported as "cannot be read as NetCDF (truncated or corrupt?)" with
    pandas' words, where a layer was selected before the file was validated (found 2026-12-07)."""
    p = tmp_path / "a.nc"
    _raw_write(activations_ds.assign_coords(layer=layers), p)
    with pytest.raises(error, match=match) as exc:
        open_dataset(p, layers=selected)
    _assert_one_line(exc, p)


def test_a_file_written_after_selecting_one_layer_reads_as_that_layer(tmp_path):
    """``ds.sel(layer=7).to_netcdf(...)`` keeps ``layer`` as a scalar coordinate; such a file read as "cannot be read as
    NetCDF (truncated or corrupt?): len() of unsized object" (found 2026-12-07).  It now holds layer 7, recorded as a
    file without a layer axis records its layer."""
    from rsastats.vectors import recorded_layers

    rng = np.random.default_rng(0)
    layered = make_vectors(rng.standard_normal((5, 2, 4)), list("abcde"), layers=[3, 7], attrs={"model": "v"})
    p = tmp_path / "one.nc"
    _raw_write(layered.sel(layer=7), p)
    kind, ds = open_dataset(p)
    assert kind == "vectors" and "layer" not in ds.coords and recorded_layers(ds.attrs) == (7,)
    np.testing.assert_array_equal(ds["vectors"].values, layered["vectors"].sel(layer=7).values)
    _raw_write(layered.sel(layer=7).assign_attrs(layers="3"), p)
    with pytest.raises(ValidationError, match=r"scalar 'layer' coordinate \(7\) and its 'layers' attribute \(3\)"):
        open_dataset(p)
