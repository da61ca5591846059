"""Write a small simulated activations file: ``python -m rsastats.simulate_cli OUT.nc``."""

from __future__ import annotations

import sys

from .data import write_dataset
from .simulate import simulate_activations

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "example.nc"
    path = write_dataset(simulate_activations(n_baseline=16, seed=0), out)
    print(f"wrote {path}")
