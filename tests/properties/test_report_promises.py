"""What ``report`` promises on any input it accepts (hypothesis): three files built from the odd activations of
test_compare_promises.py (the pair there and a noisy copy of the first, over one to three layers), written to disk
and reported on with every section the files allow.  Either the report is refused with the package's own error
(and no report is left behind), or: its report.json keeps the promises every committed report keeps (each estimate
inside its own interval, no correlation-like value outside [-1, 1]: the scan of test_committed_reports.py), and
neither report.md nor index.html prints a NaN or an infinity where a number or a note should be."""

import json
import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st_h

from rsastats.exceptions import RsaStatsError
from rsastats.io import write_dataset
from rsastats.report import ReportConfig, build_report

from ..unit.test_committed_reports import problems
from .odd_inputs import promises
from .test_compare_promises import _activations, designs

# a number cell that reads as not-a-number, or an infinity, in Markdown or HTML text (embedded images left out:
# base64 can spell "/inf/")
NOT_A_NUMBER = re.compile(r"(?<![\w.-])(nan|NaN|-?inf|-?Infinity)(?![\w-])")
EMBEDDED = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")


def _three_files(d, layers, folder):
    a, b = _activations(d)
    rng = np.random.default_rng(d["seed"] + 3)
    out = []
    for i, ds in enumerate((a, b, a.assign(activations=a.activations + 0.5 * rng.standard_normal(a.activations.shape)))):
        if layers > 1:  # more layers: the layer, geometry and last-k sections have something to show
            name = "activations" if "activations" in ds else "vectors"
            stacked = np.concatenate([ds[name].values * (1 + 0.3 * k) + k for k in range(layers)], axis=-2)
            ds = ds.isel(layer=[0] * layers).assign_coords(layer=np.arange(layers))
            ds = ds.assign({name: (ds[name].dims, stacked)})
        out.append(str(write_dataset(ds, folder / f"m{i}.nc")))
    return out


def test_the_text_scan_finds_a_printed_nan():
    assert NOT_A_NUMBER.search("| m0 | nan [0.1, 0.2] |") and NOT_A_NUMBER.search("<td>-inf</td>")
    assert not NOT_A_NUMBER.search("financial; nanoseconds; info; x-inf-y")
    assert not NOT_A_NUMBER.search(EMBEDDED.sub("", '<img src="data:image/png;base64,8P+Ijov/inf/IEDV6t=">'))


@promises(max_examples=8)
@given(designs, st_h.integers(min_value=1, max_value=3))
def test_report_keeps_its_promises_on_odd_inputs(tmp_path_factory, d, layers):
    folder = tmp_path_factory.mktemp("odd_report")
    try:
        files = _three_files(d, layers, folder)
    except RsaStatsError:
        return
    config = ReportConfig(files=tuple(files), n_boot=100, permutations=99, layer_n_boot=50, geometry_n_boot=50,
                          decompose_n_boot=50, maturity_n_boot=50, seed=d["seed"])
    out = folder / "report"
    try:
        build_report(config, out)
    except RsaStatsError as exc:
        assert str(exc).strip() and not (out / "report.json").exists()
        return
    found = problems(json.loads((out / "report.json").read_text()))
    assert not found, found[:5]
    for text in ("report.md", "index.html"):
        shown = NOT_A_NUMBER.findall(EMBEDDED.sub("", (out / text).read_text(encoding="utf-8")))
        assert not shown, (text, shown[:5])
