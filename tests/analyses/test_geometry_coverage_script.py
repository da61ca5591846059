"""The geometry coverage script runs and its tables say what its records say."""

import csv
import json

from analyses import geometry_coverage as gc


def test_script_writes_rates_that_match_its_records(tmp_path):
    design = "little prompt noise: 10 emotions x 10 prompts"  # every noise-free descriptor has its interval here
    assert gc.main(["--n-sims", "3", "--n-boot", "40", "--designs", design, "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "coverage.json").read_text())
    rows = data["rows"]
    assert {r["descriptor"] for r in rows} == set(gc.CHECKED)
    assert "baseline_participation_ratio_plugin" not in gc.CHECKED  # no interval: nothing to cover
    report = (tmp_path / "coverage.md").read_text()
    for r in rows:
        assert r["estimate_inside"] == r["n"] == 3  # every estimate inside its own interval
        assert r["coverage"] == r["coverage"] and 0 <= r["coverage_low"] <= r["coverage"] <= r["coverage_high"] <= 1
        assert f"| {r['descriptor']} | {r['estimand']:.4g} |" in report
    with open(tmp_path / "coverage.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(rows)


def test_unknown_design_is_one_error_line(capsys):
    assert gc.main(["--designs", "no such design"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown design 'no such design'")
