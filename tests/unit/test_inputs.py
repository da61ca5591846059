"""The one loader (rsastats.inputs): a file is opened once, only the layers needed are read, prompt
rows are built once and the RDM is made from them; one message for differing emotion sets."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from rsastats import inputs, vectors
from rsastats.io import write_dataset
from rsastats.exceptions import LabelError, ValidationError
from rsastats.inputs import RDMOptions, Source, check_same_emotions, load_models, open_source
from rsastats.rdm import rdm_from_dataset
from rsastats.simulate import simulate_activations


@pytest.fixture
def two_files(tmp_path):
    out = []
    for seed in (1, 2):
        ds = simulate_activations(6, 4, 5, 8, n_baseline=6, seed=seed, attrs={"model": f"m{seed}"})
        out.append(write_dataset(ds, tmp_path / f"m{seed}.nc"))
    return out


def test_compare_path_opens_each_file_once_and_builds_rows_once(two_files, monkeypatch):
    opened, built = [], []
    real_open, real_rows = xr.open_dataset, vectors.prompt_rows

    def counting_open(*args, **kwargs):
        opened.append(args[0])
        return real_open(*args, **kwargs)

    def counting_rows(*args, **kwargs):
        built.append(1)
        return real_rows(*args, **kwargs)

    monkeypatch.setattr(xr, "open_dataset", counting_open)
    monkeypatch.setattr(inputs, "prompt_rows", counting_rows)
    models = load_models(two_files, RDMOptions(last_k=2))
    assert len(opened) == 2 and len(built) == 2
    assert [m.rows.layers for m in models] == [(3, 4), (3, 4)]
    # the RDM made from the rows equals the RDM of the whole file
    whole = rdm_from_dataset(xr.open_dataset(two_files[0]).load(), last_k=2)
    np.testing.assert_array_equal(models[0].rdm.matrix, whole.matrix)


def test_only_the_chosen_layers_are_read(two_files):
    source = open_source(two_files[0], layers=RDMOptions(layer=-2).layer_selector(str(two_files[0])))
    assert source.dataset["layer"].values.tolist() == [3] and source.name == "m1" and source.kind == "activations"
    with pytest.raises(ValidationError, match="no layer 9 in this file"):
        open_source(two_files[0], layers=RDMOptions(layer=9).layer_selector(str(two_files[0])))


def test_kinds_and_emotion_sets_get_one_line_each(two_files):
    with pytest.raises(ValidationError, match=r"m1.nc: is an activations file; geometry needs a vector-set file"):
        open_source(two_files[0], kinds=("vectors",), what="geometry")
    a = open_source(two_files[0])
    other = a.dataset.assign_coords(emotion=[*a.emotions[:-1], "zesty"])
    b = Source("b", "activations", other, "b.nc")
    with pytest.raises(LabelError) as info:
        check_same_emotions([a, b])
    assert str(info.value) == f"b.nc: emotion sets differ (only in m1: {a.emotions[-1]}; only in b: zesty)"
    check_same_emotions([a, open_source(two_files[1])])


def test_negative_layer_positions_count_from_the_files_end(two_files):
    from rsastats.inference import compare_models

    for layer, label in ((-2, 3), (-1, 4), (2, 2)):
        models = load_models(two_files, RDMOptions(layer=layer))
        assert models[0].rows.layers == (label,) and models[0].layer_selection == f"layer {label}"
    res = compare_models(*two_files, layer=-2, n_boot=20, permutations=9, n_splits=2)
    assert res.layer == "layer 3"


def test_a_float16_dataset_is_written_as_float32_with_the_same_values(tmp_path):
    """NetCDF has no float16 type: writing one used to fail with netCDF4's TypeError (a traceback)."""
    ds = simulate_activations(5, 3, 1, 8, seed=0)
    half = ds.astype({name: np.float16 for name in ds.data_vars if ds[name].dtype.kind == "f"})
    path = write_dataset(half, tmp_path / "half.nc")
    with xr.open_dataset(path) as back:
        for name in half.data_vars:
            if half[name].dtype == np.float16:
                assert back[name].dtype == np.float32
                np.testing.assert_array_equal(back[name].values, half[name].values.astype(np.float32))


def test_an_rdm_constant_up_to_rounding_is_refused():
    """Vectors of one dimension, all positive: every cosine distance is 0 in exact arithmetic and +-1e-16 in floating
    point. Its rank correlation ranked rounding noise (compare printed rho = -0.167 from such a pair, 2026-12-07)."""
    from rsastats.compare import ROUNDING_SPREAD, check_not_constant
    from rsastats.exceptions import ValidationError
    from rsastats.rdm import RDM, rdm_matrix

    values = np.array([[10.345584], [10.821618], [10.330437], [8.696843], [10.905355], [10.446375], [9.463047]],
                      dtype=np.float32).astype(np.float64)
    matrix = rdm_matrix(values, "cosine")
    cells = matrix[np.triu_indices(7, 1)]
    assert np.ptp(cells) <= ROUNDING_SPREAD and np.unique(cells).size > 1  # not equal bit for bit
    with pytest.raises(ValidationError, match="equal"):
        check_not_constant(RDM(matrix, tuple(f"e{i}" for i in range(7)), "cosine", "a"), "layer 0")
    spread = matrix.copy()
    spread[0, 1] = spread[1, 0] = 1e-9  # a real difference, however small, is kept
    check_not_constant(RDM(spread, tuple(f"e{i}" for i in range(7)), "cosine", "a"))
    euclid = rdm_matrix(values, "euclidean")  # parallel vectors of different lengths: distinct Euclidean distances
    check_not_constant(RDM(euclid, tuple(f"e{i}" for i in range(7)), "euclidean", "a"))
