"""Write the fixed input files of the golden-output test (run once; the files are committed).

    python -m tests.golden.make_inputs

The inputs are committed rather than rebuilt in the test so that the golden outputs depend only
on the code that reads and analyses files, never on the simulator that made them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.simulate import simulate_activations, simulate_audit_case, simulate_condition_vectors, true_vectors

INPUTS = Path(__file__).with_name("inputs")


def _decompose_conditions() -> list[dict]:
    out = []
    for model in ("qwen", "llama"):
        out += [dict(model=model, method="comprehension", precision="fp16", experiment="A") for _ in range(2)]
        out.append(dict(model=model, method="comprehension", precision="int8-token", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp16", experiment="B"))
        for temperature in (0.7, 1.0):
            out.append(dict(model=model, method="generation", precision="fp16", experiment="A", temperature=temperature,
                            top_p=0.9, max_new_tokens=100, template="chat", seed=1))
    return out


def moderate_pair(common: dict) -> None:
    """Two models that agree moderately (21 emotions x 8 prompts): rho_corrected away from the bound and enough
    emotions, so its interval is the jackknife-t one (the other inputs have fewer than 20 emotions, or agree so well
    that it is BCa near the bound)."""
    tv = true_vectors(21, 16, seed=21)
    for name, seed, model in (("moderate_a", 7, "ma"), ("moderate_b", 8, "mb")):
        vectors = tv + 0.5 * np.random.default_rng(seed).standard_normal(tv.shape)
        ds = simulate_activations(21, 8, 2, 16, vectors=vectors, noise=0.6, seed=seed, attrs={**common, "model": model})
        write_dataset(ds, INPUTS / f"{name}.nc")


def main() -> None:
    INPUTS.mkdir(exist_ok=True)
    tv = true_vectors(8, 12, seed=11)
    common = {"stimulus_set": "golden sha256:0123456789abcdef", "created": "2026-01-01T00:00:00+00:00",
              "software": "golden"}
    specs = {
        "base_m0": dict(seed=1, attrs={"model": "m0", "variant": "base", "family": "f0"}),
        "instruct_m0": dict(seed=2, attrs={"model": "m0-it", "variant": "instruct", "family": "f0"}),
        "base_m1": dict(seed=3, attrs={"model": "m1", "variant": "base", "family": "f1"}),
        "base_m0_bf16": dict(seed=4, attrs={"model": "m0", "variant": "base", "family": "f0", "precision": "bf16"}),
    }
    for name, spec in specs.items():
        ds = simulate_activations(8, 6, 3, 12, vectors=tv + 0.3 * np.random.default_rng(spec["seed"]).standard_normal(tv.shape),
                                  noise=0.8, n_baseline=10, seed=spec["seed"], attrs={**common, **spec["attrs"]})
        write_dataset(ds, INPUTS / f"{name}.nc")
    labels = [str(e) for e in ds["emotion"].values]
    rng = np.random.default_rng(5)
    vectors = tv + 0.5 * rng.standard_normal(tv.shape)
    write_dataset(make_vectors(vectors, labels, attrs={"model": "paper", **common}), INPUTS / "vectors.nc")
    x = tv + 0.7 * rng.standard_normal(tv.shape)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    write_dataset(make_rdm(d[::-1, ::-1], labels[::-1], attrs={"rdm_method": "euclidean", "source": "golden"}),
                  INPUTS / "rdm.nc")
    datasets = simulate_condition_vectors(_decompose_conditions(), {"model": 0.5, "method": 0.4, "precision": 0.3,
                                                                    "temperature": 0.2}, 10, 16, seed=0)
    for i, ds in enumerate(datasets):
        ds.attrs.update({"created": common["created"], "software": "golden"})
        write_dataset(ds, INPUTS / f"condition{i:02d}.nc")
    moderate_pair(common)
    audit, _ = simulate_audit_case(noise=0.5, n_emotions=10, n_prompts=6, hidden=16, seed=3)
    for ds, name in zip(audit, ("audit_a", "audit_b", "audit_ref_a", "audit_ref_b")):
        ds.attrs.update({"created": common["created"], "software": "golden"})
        write_dataset(ds, INPUTS / f"{name}.nc")


if __name__ == "__main__":
    main()
