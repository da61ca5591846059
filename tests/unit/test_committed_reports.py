"""Every committed report (``reports/**/*.json``) keeps its numbers possible: each estimate lies
inside its own interval, and no correlation-like value (rho, its interval, the noise ceiling,
split-half reliabilities) lies outside [-1, 1]."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

REPORTS = Path(__file__).resolve().parents[2] / "reports"
# (estimate, low, high) key triples as the package writes them
PAIRS = [("rho", "ci_low", "ci_high"), ("rho_corrected", "corrected_ci_low", "corrected_ci_high"),
         ("estimate", "ci_low", "ci_high"), ("difference", "ci_low", "ci_high"), ("value", "ci_low", "ci_high"),
         ("share", "share_ci_low", "share_ci_high"), ("baseline_anisotropy", "ci_low", "ci_high"),
         ("mean_rho", "ci_low", "ci_high")]
BOUNDED = ("rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high", "noise_ceiling",
           "ceiling_low", "ceiling_high", "split_half_a", "split_half_b", "rho_a", "rho_b")
SLACK = 1e-9  # rounding of numbers written with full precision


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def problems(obj, where: str = "$") -> list[str]:
    out = []
    if isinstance(obj, dict):
        # and every "<name>" beside "<name>_ci_low" / "<name>_ci_high"
        stems = [(k[:-len("_ci_low")], k, k[:-len("_ci_low")] + "_ci_high") for k in obj if k.endswith("_ci_low")]
        for est, lo, hi in PAIRS + [t for t in stems if t[0] in obj]:
            e, a, b = obj.get(est), obj.get(lo), obj.get(hi)
            if _number(e) and _number(a) and _number(b) and not (a - SLACK <= e <= b + SLACK):
                out.append(f"{where}: {est} {e:.4g} outside [{a:.4g}, {b:.4g}]")
        # the interval of a difference of two rhos lies in [-2, 2]
        bounded = [k for k in BOUNDED if not ("difference" in obj and k in ("ci_low", "ci_high"))]
        for key in bounded:
            v = obj.get(key)
            if _number(v) and abs(v) > 1 + SLACK:
                out.append(f"{where}.{key} = {v:.4g} outside [-1, 1]")
        for k, v in obj.items():
            out += problems(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += problems(v, f"{where}[{i}]")
    return out


FILES = sorted(REPORTS.rglob("*.json"))


def test_the_scan_finds_impossible_numbers():
    assert problems({"rho": 0.9, "ci_low": 1.0, "ci_high": 1.0})
    assert problems({"pairs": [{"noise_ceiling": 1.2}]})
    assert problems({"rho_corrected": 2.2, "corrected_ci_low": 0.5, "corrected_ci_high": 3.0})
    assert problems({"pc1_share": 0.078, "pc1_share_ci_low": 0.0, "pc1_share_ci_high": 0.054})
    assert problems({"baseline_anisotropy": 0.84, "ci_low": 0.87, "ci_high": 0.93})
    assert not problems({"rho": 0.5, "ci_low": 0.4, "ci_high": 0.6, "noise_ceiling": 0.9})


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(REPORTS)) for p in FILES])
def test_committed_report_numbers_are_possible(path):
    found = problems(json.loads(path.read_text()))
    assert not found, f"{len(found)} impossible number(s) in {path.relative_to(REPORTS)}, e.g. " + "; ".join(found[:5])


TEXTS = sorted(p for p in REPORTS.rglob("*") if p.suffix in (".md", ".json", ".html") and p.is_file())
# An f-string that lost its ``f`` prints its field: the package's constants are upper-case names (``{text}`` and
# ``{emotion}`` are the stimulus templates' own fields, written on purpose).
UNFILLED = re.compile(r"\{[A-Z][A-Z0-9_]+\}")


def test_the_unfilled_field_scan_finds_a_constant_name():
    assert UNFILLED.search("given only with >= {MIN_PROMPTS} prompts")
    assert not UNFILLED.search("I feel {emotion}: {text}")


@pytest.mark.parametrize("path", TEXTS, ids=[str(p.relative_to(REPORTS)) for p in TEXTS])
def test_committed_reports_print_no_unfilled_field(path):
    found = UNFILLED.findall(path.read_text(encoding="utf-8", errors="replace"))
    assert not found, f"{path.relative_to(REPORTS)} prints {sorted(set(found))}"
