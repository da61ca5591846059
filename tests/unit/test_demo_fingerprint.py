"""The demo's content fingerprint: the same data made at another time or from weights in another
folder (another clone) is the same content; any change of values or of a recorded setting is not."""

from __future__ import annotations

from pathlib import Path

from rsastats.io import write_dataset
from rsastats.cli.demo import content_sha256
from rsastats.simulate import simulate_activations


def _write(tmp: Path, name: str, **attrs) -> Path:
    ds = simulate_activations(4, 3, 2, 6, n_baseline=3, seed=1,
                              attrs={"model": "m", "precision": "fp32", "model_path": "/clone-a/weights", **attrs})
    return write_dataset(ds, tmp / f"{name}.nc")


def test_time_and_weights_folder_do_not_change_the_fingerprint(tmp_path):
    reference = content_sha256(_write(tmp_path, "a"))
    assert content_sha256(_write(tmp_path, "b", model_path="/clone-b/weights", created="2030-01-01T00:00:00")) == reference
    assert content_sha256(_write(tmp_path, "c", precision="bf16")) != reference
    ds = simulate_activations(4, 3, 2, 6, n_baseline=3, seed=2, attrs={"model": "m", "precision": "fp32",
                                                                        "model_path": "/clone-a/weights"})
    assert content_sha256(write_dataset(ds, tmp_path / "d.nc")) != reference
