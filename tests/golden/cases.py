"""The golden cases: fixed inputs (``inputs/``), fixed seeds, the JSON each command prints.

Each case is a command line run from the ``inputs`` folder (so file names in the output are
relative and the same on every machine).  ``report`` cases read the ``report.json`` the command
writes.  ``python`` cases call a public function and take its ``to_dict()``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

INPUTS = Path(__file__).with_name("inputs")
EXPECTED = Path(__file__).with_name("expected")

FAST = ["--n-boot", "200", "--permutations", "499", "--n-splits", "8", "--seed", "3"]
ACTS = ["base_m0.nc", "base_m1.nc", "instruct_m0.nc", "base_m0_bf16.nc"]
CONDITIONS = [f"condition{i:02d}.nc" for i in range(12)]

CLI_CASES: dict[str, list[str]] = {
    "compare_activations": ["compare", "base_m0.nc", "base_m1.nc", *FAST],
    "compare_bca_vectors": ["compare", "base_m0.nc", "vectors.nc", *FAST, "--ci", "bca"],
    "compare_vectors_rdm_kendall_a": ["compare", "vectors.nc", "rdm.nc", *FAST, "--rank", "kendall-a", "--ci", "percentile",
                                      "--rdm", "euclidean"],
    "compare_crossval_pearson": ["compare", "base_m0.nc", "base_m1.nc", *FAST, "--rdm", "crossval-euclidean",
                                 "--bootstrap", "emotions", "--rank", "pearson"],
    "compare_neutral_pc_last_k": ["compare", "base_m0.nc", "instruct_m0.nc", *FAST, "--normalization", "neutral-pc",
                                  "--last-k", "2", "--bootstrap", "prompts", "--ci", "basic"],
    "compare_zscore_kendall_b": ["compare", "base_m0.nc", "base_m1.nc", *FAST, "--normalization", "zscore",
                                 "--rank", "kendall-b", "--rdm", "correlation"],
    "compare_corrected_jackknife": ["compare", "moderate_a.nc", "moderate_b.nc", *FAST],
    "matrix": ["matrix", *ACTS, *FAST, "--adjust", "bh"],
    "matrix_emotions_unit": ["matrix", *ACTS, "vectors.nc", *FAST, "--normalization", "unit", "--bootstrap", "emotions",
                             "--ci", "bca"],
    "geometry": ["geometry", "base_m0.nc", "instruct_m0.nc", "--layer", "all", "--n-boot", "60", "--maturity",
                 "--seed", "3"],
    "geometry_vectors_bca": ["geometry", "vectors.nc", "base_m1.nc", "--n-boot", "60", "--ci", "bca", "--seed", "4"],
    "maturity": ["maturity", "base_m0.nc", "base_m1.nc", "--n-boot", "60", "--seed", "3"],
    "decompose": ["decompose", *CONDITIONS, "--n-boot", "30", "--seed", "2"],
    "decompose_bca_zscore": ["decompose", *CONDITIONS, "--n-boot", "30", "--seed", "5", "--ci", "bca",
                             "--response", "zscore"],
    "audit": ["audit", "audit_a.nc", "audit_b.nc", "--reference-files", "audit_ref_a.nc", "audit_ref_b.nc",
              "--n-boot", "200", "--seed", "1"],
}

REPORT_CASES: dict[str, list[str]] = {
    "report": ["report", *ACTS, "--n-boot", "60", "--permutations", "99", "--n-splits", "4", "--layer-points", "2",
               "--layer-n-boot", "20", "--geometry-layers", "2", "--geometry-n-boot", "20", "--maturity-n-boot", "20",
               "--seed", "3"],
}


def _python_cases() -> dict[str, Callable[[], Any]]:
    from rsastats.inference import compare_difference, mantel, noise_ceiling, bootstrap_rho

    return {
        "py_compare_difference": lambda: compare_difference("base_m0.nc", "base_m1.nc", "instruct_m0.nc", n_boot=200,
                                                            seed=5).to_dict(),
        "py_compare_difference_bca": lambda: compare_difference("base_m0.nc", "vectors.nc", "base_m1.nc", n_boot=200,
                                                                ci="bca", seed=6).to_dict(),
        "py_mantel_exact": lambda: mantel("vectors.nc", "base_m1.nc", permutations=50000, seed=1).to_dict(),
        "py_noise_ceiling": lambda: noise_ceiling(["base_m0.nc", "base_m1.nc", "instruct_m0.nc"], n_splits=12,
                                                  seed=2).to_dict(),
        "py_bootstrap_rho_both": lambda: bootstrap_rho("base_m0.nc", "instruct_m0.nc", n_boot=300, seed=7,
                                                       ci="bca", scheme="both").to_dict(),
    }


# Keys whose values depend on when or where a command ran, not on what it computed.
VOLATILE_KEYS = {"created", "software", "elapsed", "elapsed_s", "seconds", "versions", "rsastats_version", "generated",
                 "python", "platform", "out"}


def scrub(obj: Any, out_dir: str | None = None) -> Any:
    if isinstance(obj, dict):
        return {k: ("<volatile>" if k in VOLATILE_KEYS else scrub(v, out_dir)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v, out_dir) for v in obj]
    if isinstance(obj, str) and out_dir and out_dir in obj:
        return obj.replace(out_dir, "<OUT>")
    if isinstance(obj, str) and "tests/golden/inputs/" in obj:  # a path relative to a temporary folder
        return "<INPUTS>/" + obj.rsplit("tests/golden/inputs/", 1)[1]
    return obj


def run_case(name: str, out_dir: Path) -> Any:
    """The scrubbed JSON of case ``name``; must be called with the working directory at INPUTS."""
    from click.testing import CliRunner

    from rsastats.cli import cli

    assert Path.cwd().resolve() == INPUTS.resolve(), "golden cases run from tests/golden/inputs"
    if name in CLI_CASES:
        result = CliRunner().invoke(cli, [*CLI_CASES[name], "--json", "--quiet"])
        if result.exit_code != 0:
            raise AssertionError(f"{name}: exit {result.exit_code}: {result.output}")
        return scrub(json.loads(result.stdout))
    if name in REPORT_CASES:
        target = out_dir / name
        result = CliRunner().invoke(cli, [*REPORT_CASES[name], "--out", str(target), "--quiet"])
        if result.exit_code != 0:
            raise AssertionError(f"{name}: exit {result.exit_code}: {result.output}")
        return scrub(json.loads((target / "report.json").read_text()), str(target))
    return scrub(json.loads(json.dumps(_python_cases()[name](), default=_default)))


def _default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(type(obj).__name__)


def all_names() -> list[str]:
    return [*CLI_CASES, *REPORT_CASES, *_python_cases()]


def regenerate(names: list[str] | None = None) -> None:
    """Rewrite ``expected/<name>.json`` (only when a change of numbers is intended)."""
    import tempfile

    EXPECTED.mkdir(exist_ok=True)
    here = os.getcwd()
    os.chdir(INPUTS)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name in names or all_names():
                data = run_case(name, Path(tmp))
                (EXPECTED / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
                print("wrote", name)
    finally:
        os.chdir(here)


if __name__ == "__main__":
    import sys

    regenerate(sys.argv[1:] or None)
