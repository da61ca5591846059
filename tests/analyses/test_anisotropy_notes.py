"""The anisotropy report says why an interval is missing, with the noise shares its notes quote as a range."""

import numpy as np
import pandas as pd

from analyses.anisotropy import missing_intervals


def _note(share, what):
    return (f"no CI: prompt noise is {share}% of the emotion vectors' {what} (above 5%), too much for the bootstrap's "
            "bias correction to reach the noise-free value (docs/geometry.md)")


def test_missing_intervals_count_layers_and_give_the_range_of_each_reason():
    rows = [("emotion_participation_ratio", np.nan, _note(s, "squared distance from their mean")) for s in (31, 120, 8)]
    rows += [("emotion_participation_ratio", np.nan, _note(12, "squared norm")),
             ("emotion_participation_ratio", 1.0, ""),
             ("emotion_mean_cosine", 0.5, ""), ("baseline_anisotropy", np.nan, "no baseline texts")]
    frame = pd.DataFrame(rows, columns=["descriptor", "ci_low", "note"])
    lines = missing_intervals(frame)
    assert len(lines) == 2  # the mean cosine has its interval everywhere
    pr = next(line for line in lines if line.startswith("participation ratio (emotions)"))
    assert "no interval at 4 of 5 model layers" in pr
    assert "prompt noise is 8-120% of the emotion vectors' squared distance from their mean" in pr
    assert "prompt noise is 12% of the emotion vectors' squared norm" in pr
    assert any(line.endswith("no interval at 1 of 1 model layers: no baseline texts") for line in lines)
