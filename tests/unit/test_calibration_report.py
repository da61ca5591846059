"""docs/calibration.md describes the defaults the library uses (the report is generated; if a default
changes, the report must be rerun)."""

import re
from pathlib import Path

from rsastats.inference.ceiling import DEFAULT_N_SPLITS
from rsastats.inference.corrected import MIN_PROMPTS, MIN_SPLIT_HALF
from rsastats.intervals import DEFAULT_CI

REPORT = Path(__file__).resolve().parents[2] / "docs" / "calibration.md"


def test_the_report_describes_the_library_defaults():
    text = REPORT.read_text(encoding="utf-8")
    assert f'`DEFAULT_CI = "{DEFAULT_CI}"`' in text
    assert f"{DEFAULT_N_SPLITS} half splits" in text
    assert f">= {MIN_PROMPTS} valid prompts per emotion" in text and f">= {MIN_SPLIT_HALF}" in text


def test_every_design_of_the_report_keeps_estimates_inside_their_intervals():
    text = REPORT.read_text(encoding="utf-8")
    assert "Every estimate lies inside its own interval in every data set: True" in text
    assert "noise ceiling lies in [-1, 1]: True" in text
    designs = re.findall(r"^\| (n\d+-P\d+-\S+) \|", text, flags=re.M)
    assert len(set(designs)) >= 24


def test_the_report_measures_rho_where_the_models_share_little_or_nothing():
    text = REPORT.read_text(encoding="utf-8")
    assert "## rho's interval where the models share little or no geometry" in text
    designs = re.findall(r"^\| (n\d+-P\d+-r[\d.]+-(?:weak|faint|unrelated)\S*) \|", text, flags=re.M)
    assert len(set(designs)) >= 10 and any("unrelated" in d for d in designs)
    assert f"Every estimate inside its `{DEFAULT_CI}` interval: True" in text


def test_the_report_checks_a_second_generative_model():
    from analyses.calibration.independent import DESIGNS

    text = REPORT.read_text(encoding="utf-8")
    assert "## A second generative model" in text
    section = text.split("## A second generative model")[1].split("\n## ")[0]
    assert {d.name for d in DESIGNS} <= set(re.findall(r"^\| (n\d+-P\d+-\S+) \|", section, flags=re.M))
    assert "Every estimate inside its own interval: True" in section
    assert "noise-equalized" in text  # the defaults section names how rho_corrected's halves are built


def test_the_atlas_says_on_which_side_rho_corrected_misses():
    """Per design, coverage + misses above + misses below = 100% (each from the same data sets)."""
    text = REPORT.read_text(encoding="utf-8")
    section = text.split("## Coverage of the defaults over a design atlas")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (n\d+-P\d+-\S+) \|.*\| ([\d.]+) \[[\d.]+, [\d.]+\] \| [\d.]+ \| ([\d.]+) / ([\d.]+) \| ([\d.]+) \|$",
                      section, flags=re.M)
    assert len(rows) >= 20
    for design, cov, high, low, at_one in rows:
        assert abs(float(cov) + float(high) + float(low) - 100.0) < 0.2, design
        assert 0.0 <= float(at_one) <= 100.0
        if float(at_one) == 100.0:  # an interval reaching 1 cannot lie below a truth under 1
            assert float(low) == 0.0, design
    assert "The side of rho_corrected's misses" in section
    assert "Intervals whose upper end is 1" in section


def test_the_few_emotions_section_measures_the_shipped_minimums():
    """Both shipped minimums are above the measured ones, and the section says why each is kept: rho's interval (none
    below 5 emotions) covers at 4 emotions since the 'No spread' rule but is nearly as wide as the scale;
    rho_corrected's (7) since its interval is widened toward the worlds' bias."""
    text = REPORT.read_text(encoding="utf-8")
    section = text.split("## Fewer than 8 emotions")[1].split("\n## ")[0]
    rows = re.findall(r"^\| (?:atlas|second) \| (n\d+-P\d+-\S+) \|", section, flags=re.M)
    assert len(rows) == 36  # 4 to 7 emotions x (5 atlas + 4 second-model designs)
    assert ("no design here is below the band: 4 (the shipped minimum, 5, is higher: at 4 emotions the intervals "
            "are") in section
    assert "no design here is below the band: 6 (the shipped minimum, 7, is higher: at 6 emotions the lowest" in section


def test_the_minimum_text_says_how_the_shipped_minimum_stands():
    import pandas as pd

    from analyses.calibration.few import _minimum_text, _rho_minimum_text

    t = pd.DataFrame({"n": [6, 6, 7], "corrected_coverage": [0.93, 0.99, 0.95], "n_given": [30, 30, 30]})
    assert _minimum_text(t, 7, 7) == "the shipped minimum agrees"
    assert _minimum_text(t, 6, 7).startswith("the shipped minimum, 7, is higher: at 6 emotions the lowest design "
                                             "covers 93.0%")
    assert _minimum_text(t, 8, 7) == _minimum_text(t, None, 7) == "the shipped minimum differs"
    rho = pd.DataFrame({"n": [4, 4, 5], "rho_width": [1.75, 1.97, 1.5]})
    assert _rho_minimum_text(rho, 5, 5) == "the shipped minimum agrees"
    assert _rho_minimum_text(rho, 4, 5).startswith("the shipped minimum, 5, is higher: at 4 emotions the intervals are "
                                                   "1.75-1.97 wide on a scale of 2")


def test_supported_from_is_the_smallest_n_after_the_last_failure():
    import pandas as pd

    from analyses.calibration.few import supported_from

    t = pd.DataFrame({"n": [4, 4, 5, 5, 6, 6], "cov": [0.80, 0.95, 0.96, 0.91, 0.95, 0.97], "n_given": [30, 30, 30, 10, 30, 30]})
    assert supported_from(t, "cov", (0.925, 0.975)) == 6
    assert supported_from(t, "cov", (0.925, 0.975), minimum_given=20) == 5  # the 10-set design is not counted
    assert supported_from(t.assign(cov=0.5), "cov", (0.925, 0.975)) is None


def test_the_stored_results_carry_the_check_of_uneven_shrinkage():
    """Every stored data set of the atlas and the second generative model carries the check's move and its
    standard error; where the shipped rule fires on them (after the split-half rule), rho_corrected is null
    with the rule's note, and elsewhere the check left the row as it was."""
    import json

    import numpy as np
    import pandas as pd

    from rsastats.inference.corrected import uneven_shrinkage

    text = REPORT.read_text(encoding="utf-8")
    assert "## Emotion vectors of different lengths" in text
    root = REPORT.parents[1] / "reports" / "calibration"
    fired_total = 0
    for folder in ("atlas", "independent", "few"):
        for path in sorted((root / folder).glob("*.csv")):
            f = pd.read_csv(path)
            if "split_half_a" not in f or f["split_half_a"].isna().all():
                continue  # vector files: no prompts, no check
            assert "pending" not in json.loads(path.with_suffix(".json").read_text()).get("uneven_check", {}), path
            assert "norm_shift" in f, path
            reached = np.minimum(f["split_half_a"], f["split_half_b"]) >= MIN_SPLIT_HALF
            notes = [uneven_shrinkage(s, e) for s, e in zip(f["norm_shift"], f["norm_shift_se"])]
            fired = reached & pd.Series([bool(n) for n in notes])
            assert f.loc[fired, "rho_corrected"].isna().all(), path
            assert (f.loc[fired, "corrected_note"] == pd.Series(notes)[fired]).all(), path
            assert f.loc[~fired, "rho_corrected_unchecked"].isna().all(), path
            fired_total += int(fired.sum())
    assert fired_total > 0


def test_the_report_says_which_results_were_run_before_the_common_half_split():
    """Stored results without ``half_split`` in their JSON were run with a split per emotion; the report counts them
    per study, and every result run since records the shipped scheme."""
    import json

    from analyses.calibration.report import _half_split_text
    from analyses.calibration.studies import HALF_SPLIT

    root = REPORT.parents[1] / "reports" / "calibration"
    studies = {study: [(json.loads(p.read_text()), None) for p in sorted((root / folder).glob("*.json"))]
               for study, folder in (("atlas", "atlas"), ("second model", "independent"), ("few-emotions study", "few"))}
    text = " ".join(REPORT.read_text(encoding="utf-8").split())
    assert " ".join(_half_split_text(studies).split()) in text
    recorded = [meta["half_split"] for runs in studies.values() for meta, _ in runs if "half_split" in meta]
    assert recorded and set(recorded) == {HALF_SPLIT}
    assert any(meta["design"]["name"].endswith("templ1") and meta.get("half_split") == HALF_SPLIT
               for meta, _ in studies["atlas"])


def test_the_report_includes_the_third_model_run_through_the_cli():
    from analyses.calibration import cli_model

    text = REPORT.read_text(encoding="utf-8")
    section = cli_model.coverage_markdown(cli_model.coverage_table(REPORT.parents[1] / cli_model.FOLDER), heading="##")
    assert section.strip() in text
    assert {d.name for d in cli_model.DESIGNS} <= set(re.findall(r"^\| (m3-\S+) \|", text, flags=re.M))


def test_the_atlas_counts_the_jackknife_and_bca_intervals_of_rho_corrected():
    """The line on the two routes of rho_corrected's interval pools the designs' hits as the table has them."""
    import pandas as pd

    from analyses.calibration.atlas import _near_bound

    table = pd.DataFrame({"n_given": [100, 50, 10], "corrected_coverage": [0.95, 0.9, 0.5],
                          "corrected_n_bca": [40, 50, 10], "corrected_hits_bca": [39, 45, 5]})
    line, = _near_bound(table)  # the third design (10 given) is left out, as in the table's other lines
    # jackknife-t: 60 intervals, 95 - 39 = 56 hits; BCa: 90 intervals, 84 hits
    assert "jackknife-t interval in 40.0% of the 150" in line and "BCa (near the bound, or with fewer than 20 emotions) in 60.0%" in line
    assert f"{100 * 56 / 60:.1f}% and {100 * 84 / 90:.1f}%" in line
    text = REPORT.read_text(encoding="utf-8")
    assert "rho_corrected's interval is the Fisher-z jackknife-t interval in" in text
