"""The rho = 0 coverage script runs and its table says what its records say."""

import json

import numpy as np

from analyses import null_interval_coverage as nic


def test_script_writes_rates_that_match_its_records(tmp_path):
    assert nic.main(["--n-sims", "4", "--n-boot", "40", "--permutations", "99", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    report = (tmp_path / "report.md").read_text()
    assert set(data["levels"]) == set(nic.NOISE_LEVELS)
    for name, level in data["levels"].items():
        assert level["n"] == 4 and 0 <= level["ci_excludes_zero"] <= 4 and 0 <= level["mantel_rejects"] <= 4
        assert f"| {name} ({level['noise']}) | 4 | {level['ci_excludes_zero'] / 4:.1%}" in report


def test_one_pair_is_reproducible_and_unrelated_models_are_near_zero():
    seq = np.random.SeedSequence(7)
    first = nic.one_pair(seq, 1.0, 40, 99)
    again = nic.one_pair(np.random.SeedSequence(7), 1.0, 40, 99)
    assert first == again
    assert first["ci_low"] <= first["ci_high"] and abs(first["rho"]) < 0.6
