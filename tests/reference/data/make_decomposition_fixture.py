"""Write the decomposition fixtures that decomposition_lme4.R fits (run once; the CSVs are committed).

    python tests/reference/data/make_decomposition_fixture.py

Each fixture is a long table with one row per RDM cell and file: the cosine-distance-like cell
value (``value``), the cell's emotion pair, and the file's factor levels.  ``fixture1`` has every
planted component positive; ``fixture2`` plants no experiment effect and no model effect, so a
REML fit is expected to put at least one of them on the boundary (a singular fit).  ``fixture3`` is a
larger design (27 files: two int8 schemes, two temperatures x two generation seeds per model) fitted
with ten components, where statsmodels.MixedLM stops short of the optimum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.simulate import simulate_condition_rdms
from rsastats.variance import file_condition

HERE = Path(__file__).parent
N_EMOTIONS = 10


def conditions() -> list[dict]:
    out = []
    for model in ("m1", "m2", "m3"):
        out.append(dict(model=model, method="comprehension", precision="fp32", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp32", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="int8-token", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp32", experiment="B"))
        for temperature in (0.7, 1.0):
            out.append(dict(model=model, method="generation", precision="fp32", experiment="A", temperature=temperature,
                            top_p=0.9, max_new_tokens=64, template="plain", seed=1))
    return out


def conditions3() -> list[dict]:
    out = []
    for model in ("m1", "m2", "m3"):
        out += [dict(model=model, method="comprehension", precision="fp16", experiment="A") for _ in range(2)]
        for precision in ("int8-token", "int8-dynamic"):
            out.append(dict(model=model, method="comprehension", precision=precision, experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp16", experiment="B"))
        for temperature in (0.7, 1.0):
            for seed in (1, 2):
                out.append(dict(model=model, method="generation", precision="fp16", experiment="A",
                                temperature=temperature, top_p=0.9, max_new_tokens=100, template="chat", seed=seed))
    return out


def long_table(rdms: np.ndarray, conds: list[dict]) -> pd.DataFrame:
    a, b = np.triu_indices(rdms.shape[1], 1)
    rows = []
    for f, cond in enumerate(conds):
        levels = file_condition(cond)
        for k, (i, j) in enumerate(zip(a, b)):
            rows.append({"file": f"f{f:02d}", "cell": f"c{k:03d}", "emotion_a": f"e{i}", "emotion_b": f"e{j}",
                         "value": float(rdms[f, i, j]), "model": levels["model"], "method": levels["method"],
                         "precision": levels["precision"], "experiment": levels["experiment"],
                         "temperature": levels["temperature"], "seed": levels["seed"],
                         "generation": int(levels["method"] == "generation")})
    return pd.DataFrame(rows)


def main() -> None:
    conds = conditions()
    planted1 = {"shared": 1.0, "model": 0.4, "method": 0.3, "precision": 0.2, "experiment": 0.1, "temperature": 0.15,
                "model:experiment": 0.2}
    planted2 = {"shared": 1.0, "method": 0.3, "precision": 0.2, "temperature": 0.15}
    planted3 = {"shared": 1.0, "model": 0.3, "method": 0.25, "precision": 0.15, "temperature": 0.1,
                "model:experiment": 0.15}
    for name, design, planted, seed in (("fixture1", conds, planted1, 11), ("fixture2", conds, planted2, 12),
                                        ("fixture3", conditions3(), planted3, 13)):
        rdms = simulate_condition_rdms(design, planted, N_EMOTIONS, residual=0.3, emotion_dependence=0.2, seed=seed)
        long_table(rdms, design).to_csv(HERE / f"decomposition_{name}.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
