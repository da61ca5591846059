"""RDMs made elsewhere: a square CSV/TSV with the emotion labels as header row and first column,
or an rsatoolbox ``RDMs`` saved with ``rdms.save(path, file_type="hdf5")`` (read with
``rsatoolbox.rdm.load_rdm``; rsatoolbox's pickle format is refused, since unpickling can run code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...exceptions import DependencyError, ImportFormatError
from ..text import check_utf8, separator_problem

__all__ = ["RDM_FORMATS", "read_rdm_file"]

RDM_FORMATS = {".csv": "csv", ".tsv": "csv", ".hdf5": "rsatoolbox-hdf5", ".h5": "rsatoolbox-hdf5"}


def _read_square_csv(path: Path) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    check_utf8(path, "table")
    try:
        frame = pd.read_csv(path, sep=sep, index_col=0, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        raise ImportFormatError(f"cannot be parsed as {'TSV' if sep == chr(9) else 'CSV'}: "
                                f"{' '.join(str(exc).split())[:160]}", path=path) from None
    if frame.shape[1] == 0 and separator_problem(str(frame.index.name or ""), sep):
        raise ImportFormatError(separator_problem(str(frame.index.name), sep), path=path)
    rows = [str(x).strip() for x in frame.index]
    cols = [str(x).strip() for x in frame.columns]
    if frame.shape[0] != frame.shape[1]:
        raise ImportFormatError(f"is not square: {frame.shape[0]} rows and {frame.shape[1]} columns besides the label "
                                "column (an RDM CSV has the emotion labels as header row and first column)", path=path)
    if rows != cols:
        raise ImportFormatError("the header row and the first column name different emotions or a different order "
                                f"(header {', '.join(cols[:4])}...; rows {', '.join(rows[:4])}...)", path=path)
    numeric = frame.apply(lambda c: pd.to_numeric(c.str.strip(), errors="coerce"))
    bad = numeric.isna().to_numpy() & ~frame.apply(lambda c: c.str.strip().str.lower() == "nan").to_numpy()
    if bad.any():
        i, j = (int(x[0]) for x in np.nonzero(bad))
        raise ImportFormatError(f"non-numeric cell {frame.iat[i, j]!r} at row {rows[i]!r}, column {cols[j]!r}", path=path)
    return numeric.to_numpy(dtype=np.float64), rows, {}


def _read_rsatoolbox(path: Path, index: int) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    try:
        from rsatoolbox.rdm import load_rdm
    except ImportError:
        raise DependencyError("reading rsatoolbox RDM files needs rsatoolbox: pip install rsatoolbox", path=path) from None
    try:
        rdms = load_rdm(str(path), file_type="hdf5")
    except Exception as exc:
        raise ImportFormatError(f"is not an rsatoolbox RDMs file saved as hdf5 ({type(exc).__name__}: "
                                f"{' '.join(str(exc).split())[:100]})", path=path) from None
    n = int(np.asarray(rdms.get_matrices()).shape[0])
    if not 0 <= index < n:
        raise ImportFormatError(f"holds {n} RDM(s); --rdm-index {index} is not one of 0..{n - 1}", path=path)
    matrix = np.asarray(rdms.get_matrices(), dtype=np.float64)[index]
    # the same descriptors rsastats.rdm.from_rsatoolbox reads (the files layer cannot import it)
    desc = getattr(rdms, "pattern_descriptors", {}) or {}
    key = next((k for k in ("emotion", "conds", "index") if k in desc), None)
    labels = [str(x) for x in desc[key]] if key else [str(i) for i in range(matrix.shape[0])]
    info: dict[str, Any] = {}
    method = str(getattr(rdms, "dissimilarity_measure", "") or "")
    if method:
        info["rdm_method"] = method
    names = (getattr(rdms, "rdm_descriptors", {}) or {}).get("name")
    if names is not None and str(list(names)[index]):
        info["source_rdm_name"] = str(list(names)[index])
    return matrix, labels, info


def read_rdm_file(path: Path, fmt: str, index: int = 0) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """(matrix, labels, attributes the file records) of an RDM file of format ``fmt``."""
    if fmt == "csv":
        return _read_square_csv(path)
    return _read_rsatoolbox(path, index)
