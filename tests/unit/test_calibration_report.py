"""The default interval the library uses is the one docs/calibration.md chose."""

import re
from pathlib import Path

from analyses.calibration import library_setting
from rsastats.inference import bootstrap

REPORT = Path(__file__).resolve().parents[2] / "docs" / "calibration.md"


def test_library_default_matches_the_calibration_report():
    text = REPORT.read_text(encoding="utf-8")
    chosen = re.search(r"Chosen: \*\*([a-z-]+)\*\*", text).group(1)
    ci, bounded = library_setting(chosen)
    assert bootstrap.DEFAULT_CI == ci
    if bounded is not None:
        assert bootstrap.BASIC_BOUNDED == bounded
