"""Writing a report (rsastats/report/render.py): built in a temporary folder and moved into place
whole, so a failure while rendering leaves no half-written figures or tables and an earlier report
as it was; one writer per report folder; inputs whose names slug alike get their own figures."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest

from rsastats.exceptions import OutputBusyError, ValidationError
from rsastats.io import write_dataset
from rsastats.report import ReportConfig, build_report
from rsastats.simulate import simulate_activations, true_vectors

from .test_outputs import HOLDER, another_process

SMALL = dict(n_boot=30, permutations=19, n_splits=3, layer_points=0, geometry_layers=0, decompose="no", maturity="no")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-outputs")
    tv = true_vectors(6, 10, seed=2)
    rng = np.random.default_rng(1)
    out = []
    for i in range(3):
        ds = simulate_activations(6, 4, 2, 10, noise=0.6, vectors=tv + 0.8 * i * rng.standard_normal(tv.shape), seed=i + 1,
                                  attrs={"model": f"model-{i}"})
        out.append(str(write_dataset(ds, tmp / f"m{i}.nc")))
    return out


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_names_that_slug_alike_get_distinct_figures(files, tmp_path):
    out = tmp_path / "r"
    build_report(ReportConfig(files=tuple(files[:2]), names=("m 1", "m-1"), **SMALL), out)
    figures = {f["name"]: f for f in json.loads((out / "report.json").read_text())["figures"]}
    assert {"rdm_m-1", "rdm_m-1-2"} <= set(figures)
    assert figures["rdm_m-1"]["title"] == "RDM: m 1" and figures["rdm_m-1-2"]["title"] == "RDM: m-1"
    assert (out / "figures" / "rdm_m-1.png").read_bytes() != (out / "figures" / "rdm_m-1-2.png").read_bytes()
    md = (out / "report.md").read_text()
    assert "figures/rdm_m-1.png" in md and "figures/rdm_m-1-2.png" in md


@pytest.mark.parametrize("where", ["figures", "pages"])
def test_a_failure_while_rendering_leaves_the_earlier_report_whole(files, tmp_path, monkeypatch, where):
    from rsastats.report import figures as fg
    from rsastats.report import pages

    out = tmp_path / "r"
    build_report(ReportConfig(files=tuple(files), names=("a", "b", "c"), **SMALL), out)
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("keep me")
    before = _tree(out)
    real_save, calls = fg.save_figure, []

    def disk_full_after_two(*args, **kwargs):  # the third figure finds the disk full
        calls.append(args[2])
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(*args, **kwargs)

    if where == "figures":
        monkeypatch.setattr(fg, "save_figure", disk_full_after_two)
    else:
        monkeypatch.setattr(pages, "html_page", lambda doc: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises((OSError, MemoryError)):
        build_report(ReportConfig(files=tuple(files[:2]), names=("x", "y"), seed=5, **SMALL), out)
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.lock", "r"]  # no temporary folder left


def test_a_failed_first_report_leaves_nothing(files, tmp_path, monkeypatch):
    from rsastats.report import pages

    monkeypatch.setattr(pages, "html_page", lambda doc: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(MemoryError):
        build_report(ReportConfig(files=tuple(files[:2]), **SMALL), tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.lock"]


def test_other_files_in_the_folder_are_kept_and_old_report_files_go(files, tmp_path):
    out = tmp_path / "r"
    build_report(ReportConfig(files=tuple(files), names=("a", "b", "c"), **SMALL), out)
    (out / "figures" / "my-sketch.png").write_bytes(b"mine")
    (out / "data").mkdir()
    (out / "data" / "inputs.csv").write_text("x\n1\n")
    build_report(ReportConfig(files=tuple(files[:2]), names=("a", "b"), **SMALL), out)
    assert not (out / "figures" / "rdm_c.png").exists() and (out / "figures" / "rdm_b.png").exists()
    assert (out / "figures" / "my-sketch.png").read_bytes() == b"mine"
    assert (out / "data" / "inputs.csv").read_text() == "x\n1\n"


def test_a_second_report_into_the_same_folder_fails_at_once(files, tmp_path, monkeypatch):
    import rsastats.report as report_module

    out = tmp_path / "r"
    monkeypatch.setattr(report_module, "analyse", lambda *a, **k: pytest.fail("analysed while the folder was locked"))
    with another_process(HOLDER, out, tmp_path / "ready") as holder:
        with pytest.raises(OutputBusyError, match=f"pid {holder.pid}"):
            build_report(ReportConfig(files=tuple(files[:2]), **SMALL), out)
    assert not out.exists()


def test_the_current_folder_is_refused_as_report_folder(files, tmp_path, monkeypatch):
    (tmp_path / "r" / "deeper").mkdir(parents=True)
    for cwd in (tmp_path / "r", tmp_path / "r" / "deeper"):
        monkeypatch.chdir(cwd)
        with pytest.raises(ValidationError, match="is the current folder or holds it"):
            build_report(ReportConfig(files=tuple(files[:2]), **SMALL), tmp_path / "r")
