"""Importers for files made by other tools: repeng control-vector GGUF (written exactly as repeng 0.4's
``ControlVector.export_gguf`` writes them), steering-vectors ``{emotion: {layer: tensor}}`` dicts,
``(emotion, layer, hidden)`` arrays, per-emotion files and folders, RDMs from CSV and rsatoolbox;
their layer conventions; provenance that was not given is unknown; bad inputs fail in one line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rsastats.audit.attributes import check_recipe_recorded, compare_layers
from rsastats.exceptions import ImportFormatError, LabelError, ValidationError
from rsastats.io import (import_rdm, import_vectors, known_attribute, layer_offset, open_rdm, open_vectors,
                         unknown_attributes, write_dataset)

gguf = pytest.importorskip("gguf")
torch = pytest.importorskip("torch")

EMOTIONS = ["happy", "sad", "calm", "afraid", "angry"]
BLOCKS = [3, 4, 5, 6]


def export_gguf(path, model_type: str, directions: dict[int, np.ndarray], arch: str = "controlvector") -> None:
    """What repeng 0.4's ``ControlVector.export_gguf`` does, line for line."""
    writer = gguf.GGUFWriter(path, arch)
    writer.add_string(f"{arch}.model_hint", model_type)
    writer.add_uint32(f"{arch}.layer_count", len(directions))
    for layer in directions.keys():
        writer.add_tensor(f"direction.{layer}", directions[layer])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture
def directions():
    rng = np.random.default_rng(11)
    return {e: {b: rng.standard_normal(12).astype(np.float32) for b in BLOCKS} for e in EMOTIONS}


@pytest.fixture
def repeng_folder(tmp_path, directions):
    folder = tmp_path / "repeng"
    folder.mkdir()
    for emotion, dirs in directions.items():
        export_gguf(folder / f"{emotion}.gguf", "llama", dirs)
    return folder


def test_one_repeng_file_is_one_emotion_at_rsastats_layers(tmp_path, directions):
    export_gguf(tmp_path / "happy.gguf", "llama", directions["happy"])
    ds = import_vectors(tmp_path / "happy.gguf")
    assert ds["emotion"].values.tolist() == ["happy"]
    assert ds["layer"].values.tolist() == [b + 1 for b in BLOCKS]  # block i = hidden_states[i + 1]
    assert ds.attrs["source_layers"] == ", ".join(map(str, BLOCKS))
    for b in BLOCKS:
        np.testing.assert_array_equal(ds["vectors"].sel(emotion="happy", layer=b + 1).values, directions["happy"][b])
    assert ds.attrs["layer_convention"] == "hidden-states" and ds.attrs["source_layer_convention"] == "block"
    assert ds.attrs["model_hint"] == "llama" and ds.attrs["source_format"] == "gguf-controlvector"
    assert layer_offset(ds.attrs) == 0


def test_repeng_keep_layer_indices(tmp_path, directions):
    export_gguf(tmp_path / "happy.gguf", "llama", directions["happy"])
    ds = import_vectors(tmp_path / "happy.gguf", keep_layer_indices=True)
    assert ds["layer"].values.tolist() == BLOCKS
    assert ds.attrs["layer_convention"] == "block" and layer_offset(ds.attrs) == 1
    back = open_vectors(write_dataset(ds, tmp_path / "kept.nc"))
    assert layer_offset(back.attrs) == 1 and back["layer"].values.tolist() == BLOCKS


def test_repeng_folder_and_file_list_agree(tmp_path, repeng_folder, directions):
    from_folder = import_vectors(repeng_folder, labels=EMOTIONS)
    from_files = import_vectors([repeng_folder / f"{e}.gguf" for e in EMOTIONS])
    assert from_folder["emotion"].values.tolist() == EMOTIONS == from_files["emotion"].values.tolist()
    np.testing.assert_array_equal(from_folder["vectors"].values, from_files["vectors"].values)
    expected = np.stack([[directions[e][b] for b in BLOCKS] for e in EMOTIONS])
    np.testing.assert_array_equal(from_folder["vectors"].values, expected)
    assert from_folder.attrs["source_sha256"] == from_files.attrs["source_sha256"]
    assert len(from_folder.attrs["source_sha256"]) == 64
    back = open_vectors(write_dataset(from_folder, tmp_path / "cv.nc"))
    assert back.attrs == from_folder.attrs


def test_gguf_of_another_architecture_is_refused(tmp_path, directions):
    export_gguf(tmp_path / "model.gguf", "llama", directions["happy"], arch="llama")
    with pytest.raises(ImportFormatError, match="architecture 'llama'.*not a control vector") as exc:
        import_vectors(tmp_path / "model.gguf")
    assert str(exc.value).startswith(str(tmp_path / "model.gguf")) and "\n" not in str(exc.value)


@pytest.mark.parametrize("keep", [0.95, 0.5, 0.1])
def test_truncated_gguf_is_refused(tmp_path, directions, keep):
    export_gguf(tmp_path / "full.gguf", "llama", directions["happy"])
    data = (tmp_path / "full.gguf").read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImportFormatError, match="not a readable GGUF file: truncated or corrupt"):
        import_vectors(tmp_path / "cut.gguf")


def test_nested_dict_of_layers(tmp_path, directions):
    """steering-vectors' layer_activations per emotion, saved with torch.save."""
    obj = {e: {b: torch.from_numpy(v) for b, v in d.items()} for e, d in directions.items()}
    torch.save(obj, tmp_path / "sv.pt")
    unknown = import_vectors(tmp_path / "sv.pt")
    assert unknown["layer"].values.tolist() == BLOCKS  # convention not known: indices kept, as recorded
    assert "layer_convention" in unknown_attributes(unknown.attrs) and layer_offset(unknown.attrs) is None
    ds = import_vectors(tmp_path / "sv.pt", layer_convention="steering-vectors")
    assert ds["layer"].values.tolist() == [b + 1 for b in BLOCKS]
    np.testing.assert_allclose(ds["vectors"].sel(emotion="sad", layer=BLOCKS[0] + 1).values, directions["sad"][BLOCKS[0]])


def test_per_emotion_pt_files(tmp_path, directions):
    for e, d in directions.items():
        torch.save({b: torch.from_numpy(v) for b, v in d.items()}, tmp_path / f"{e}.pt")
    ds = import_vectors(tmp_path, layer_convention="block")
    assert sorted(ds["emotion"].values.tolist()) == sorted(EMOTIONS)
    assert ds["layer"].values.tolist() == [b + 1 for b in BLOCKS]


def test_nested_dict_with_non_tensor_leaves(tmp_path):
    torch.save({"happy": {3: torch.ones(4)}, "sad": {3: "not a tensor"}}, tmp_path / "bad.pt")
    with pytest.raises(ImportFormatError, match="emotion 'sad', layer 3 holds a str, not a tensor"):
        import_vectors(tmp_path / "bad.pt")


def test_mismatched_hidden_sizes(tmp_path):
    torch.save({"happy": {3: torch.ones(4)}, "sad": {3: torch.ones(5)}, "calm": {3: torch.ones(4)}}, tmp_path / "h.pt")
    with pytest.raises(ImportFormatError, match=r"different hidden sizes \(happy 4, sad 5, calm 4\)"):
        import_vectors(tmp_path / "h.pt")


def test_ragged_layers(tmp_path):
    torch.save({"happy": {3: torch.ones(4), 4: torch.ones(4)}, "sad": {3: torch.ones(4)}}, tmp_path / "r.pt")
    with pytest.raises(ImportFormatError, match=r"ragged layers: emotion 'sad' lacks layer\(s\) \[4\]"):
        import_vectors(tmp_path / "r.pt")


@dataclasses.dataclass
class SteeringVector:
    """Stands in for steering_vectors.SteeringVector (same class name and fields)."""

    layer_activations: dict
    layer_type: str = "decoder_block"


def test_pickled_steering_vector_is_refused_with_how_to_save(tmp_path):
    torch.save({"happy": SteeringVector({3: torch.ones(4)})}, tmp_path / "sv.pt")
    with pytest.raises(ImportFormatError) as exc:
        import_vectors(tmp_path / "sv.pt")
    message = str(exc.value)
    assert "SteeringVector" in message and "layer_activations" in message and "torch.save(" in message
    assert message.endswith("'vectors.pt')") and "\n" not in message


def test_emotion_layer_hidden_array(tmp_path):
    values = np.random.default_rng(2).standard_normal((5, 3, 8)).astype(np.float32)
    np.save(tmp_path / "a.npy", values)
    ds = import_vectors(tmp_path / "a.npy", labels=EMOTIONS, layer_convention="hf")
    assert ds["vectors"].dims == ("emotion", "layer", "hidden") and ds["layer"].values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(ds["vectors"].values, values)
    np.savez(tmp_path / "a.npz", vectors=values, emotions=np.array(EMOTIONS), layers=np.array([10, 11, 12]))
    ds = import_vectors(tmp_path / "a.npz", layer_convention="hidden-states")
    assert ds["layer"].values.tolist() == [10, 11, 12] and ds["emotion"].values.tolist() == EMOTIONS


def test_one_layer_source_refuses_a_layer_convention(tmp_path):
    np.save(tmp_path / "two.npy", np.ones((3, 4)) + np.eye(3, 4))
    with pytest.raises(ImportFormatError, match=r"\(no layer axis\); --layer-convention does not apply"):
        import_vectors(tmp_path / "two.npy", labels="a,b,c", layer_convention="repeng")


def test_folders_of_npy(tmp_path):
    rng = np.random.default_rng(5)
    flat = tmp_path / "flat"
    flat.mkdir()
    vecs = {e: rng.standard_normal(6) for e in EMOTIONS}
    for e, v in vecs.items():
        np.save(flat / f"{e}.npy", v)
    ds = import_vectors(flat, labels=EMOTIONS)
    np.testing.assert_allclose(ds["vectors"].values, np.stack([vecs[e] for e in EMOTIONS]), rtol=1e-6)
    nested = tmp_path / "nested"
    for e in EMOTIONS:
        (nested / e).mkdir(parents=True)
        for layer in (7, 8):
            np.save(nested / e / f"layer_{layer}.npy", vecs[e] * layer)
    ds = import_vectors(nested, layer_convention="hidden-states")
    assert ds["layer"].values.tolist() == [7, 8]
    np.testing.assert_allclose(ds["vectors"].sel(emotion="calm", layer=8).values, vecs["calm"] * 8, rtol=1e-6)
    np.save(nested / "sad" / "layer_9.npy", vecs["sad"])
    with pytest.raises(ImportFormatError, match="ragged layers"):
        import_vectors(nested)


def test_provenance_not_given_is_unknown(tmp_path, directions):
    export_gguf(tmp_path / "happy.gguf", "llama", directions["happy"])
    ds = import_vectors(tmp_path / "happy.gguf", attrs={"model": "SmolLM2-135M-Instruct"})
    unknown = unknown_attributes(ds.attrs)
    assert {"chat_template", "software", "created", "method", "precision"} <= unknown and "model" not in unknown
    assert ds.attrs["chat_template"] == "" and ds.attrs["software"] == "" and ds.attrs["created"] == ""
    assert ds.attrs["imported_by"].startswith("rsastats ") and ds.attrs["imported_at"]
    given = import_vectors(tmp_path / "happy.gguf", attrs={"chat_template": 1, "software": "repeng 0.4.0",
                                                           "created": "2025-01-02"})
    assert {"chat_template", "software", "created"}.isdisjoint(unknown_attributes(given.attrs))
    assert given.attrs["software"] == "repeng 0.4.0" and known_attribute(given.attrs, "chat_template") == "1"


def test_audit_treats_unknown_as_unknown(tmp_path, directions):
    export_gguf(tmp_path / "happy.gguf", "llama", directions["happy"])
    imported = dict(import_vectors(tmp_path / "happy.gguf").attrs)
    ours = {"chat_template": 1, "method": "comprehension", "model": "m", UNKNOWN: ""}
    legacy = {"chat_template": 0, "source_format": "npy", "model": "m"}  # imported before unknown_attributes
    for attrs in (imported, legacy):
        rows, _ = compare_layers(attrs, ours)
        status = {r.attribute: r.status for r in rows}
        assert status["chat_template"] == "unknown"
    rows, _ = compare_layers({**ours, "chat_template": 0}, ours)
    assert {r.attribute: r.status for r in rows}["chat_template"] == "differs"
    with pytest.raises(ValidationError, match="records none of the attributes"):
        check_recipe_recorded("x.nc", imported)


UNKNOWN = "unknown_attributes"


def _square_csv(path, labels, matrix):
    lines = ["emotion," + ",".join(labels)] + [f"{lab}," + ",".join(repr(float(x)) for x in row)
                                               for lab, row in zip(labels, matrix)]
    path.write_text("\n".join(lines) + "\n")


def _rdm(seed=3, n=5):
    x = np.random.default_rng(seed).standard_normal((n, 4))
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def test_rdm_from_square_csv(tmp_path):
    d = _rdm()
    _square_csv(tmp_path / "rdm.csv", EMOTIONS, d)
    ds = import_rdm(tmp_path / "rdm.csv")
    np.testing.assert_allclose(ds["rdm"].values, d, rtol=0, atol=1e-15)
    assert ds["emotion"].values.tolist() == EMOTIONS and "rdm_method" in unknown_attributes(ds.attrs)
    back = open_rdm(write_dataset(ds, tmp_path / "rdm.nc"))
    assert back.attrs["source"] == "rdm.csv"
    given = import_rdm(tmp_path / "rdm.csv", attrs={"rdm_method": "euclidean"})
    assert given.attrs["rdm_method"] == "euclidean" and "rdm_method" not in unknown_attributes(given.attrs)


def test_bad_rdm_csvs(tmp_path):
    d = _rdm()
    rows = ["emotion," + ",".join(EMOTIONS[:4])] + [f"{e}," + ",".join(map(repr, r[:4].tolist())) for e, r in zip(EMOTIONS, d)]
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ImportFormatError, match="is not square: 5 rows and 4 columns"):
        import_rdm(tmp_path / "rows.csv")
    asym = d.copy()
    asym[0, 1] += 1
    _square_csv(tmp_path / "asym.csv", EMOTIONS, asym)
    with pytest.raises(ValidationError, match="not symmetric") as exc:
        import_rdm(tmp_path / "asym.csv")
    assert str(exc.value).startswith(str(tmp_path / "asym.csv"))
    (tmp_path / "order.csv").write_text((tmp_path / "asym.csv").read_text().replace("emotion,happy,sad", "emotion,sad,happy"))
    with pytest.raises(ImportFormatError, match="different emotions or a different order"):
        import_rdm(tmp_path / "order.csv")


def test_rdm_from_rsatoolbox_hdf5(tmp_path):
    rdm_mod = pytest.importorskip("rsatoolbox.rdm")
    d = _rdm(seed=4)
    iu = np.triu_indices(5, 1)
    rdms = rdm_mod.RDMs(np.stack([d[iu], 2 * d[iu]]), dissimilarity_measure="euclidean",
                        pattern_descriptors={"emotion": EMOTIONS})
    rdms.save(str(tmp_path / "rdms.hdf5"), file_type="hdf5")
    ds = import_rdm(tmp_path / "rdms.hdf5", index=1)
    np.testing.assert_allclose(ds["rdm"].values, 2 * d, rtol=1e-12)
    assert ds.attrs["rdm_method"] == "euclidean" and ds["emotion"].values.tolist() == EMOTIONS
    with pytest.raises(ImportFormatError, match="holds 2 RDM"):
        import_rdm(tmp_path / "rdms.hdf5", index=2)


def test_labels_that_do_not_match_per_emotion_files(tmp_path, repeng_folder):
    with pytest.raises(LabelError, match="--labels do not match the emotions named by the files"):
        import_vectors(repeng_folder, labels=["happy", "sad"])


def test_unknown_list_carried_to_a_derived_file():
    from rsastats.io import make_attrs

    carried = make_attrs("vectors", model="m", software=None, created=None)
    assert {"software", "created", "chat_template"} <= unknown_attributes(carried)
    derived = {k: v for k, v in carried.items() if k not in ("schema", "created", "software")}
    again = make_attrs("vectors", **{**derived, "chat_template": 1})
    assert again["software"].startswith("rsastats ") and again["created"]  # this program made the new file
    assert "chat_template" not in unknown_attributes(again) and "method" in unknown_attributes(again)


def test_one_concepts_layer_dict_is_not_read_as_emotions(tmp_path, directions):
    torch.save({b: torch.from_numpy(v) for b, v in directions["happy"].items()}, tmp_path / "happy.pt")
    with pytest.raises(ImportFormatError, match=r"holds one \{layer: tensor\} dict \(keys \[3, 4, 5, 6\]\), i.e. one concept"):
        import_vectors(tmp_path / "happy.pt")
