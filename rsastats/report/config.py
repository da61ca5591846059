"""What a report analyses and how: :class:`ReportConfig`, from keyword arguments or an analysis
file (YAML or JSON).

An analysis file::

    title: Emotion geometry of three models
    seed: 0
    models:                       # or `files:`; a plain path or {path, name}
      - {path: runs/qwen.nc, name: qwen}
      - runs/llama.nc
    reference: qwen               # orders emotions, anchors MDS and the layer curves (default: first)
    compare: {layer: -1, rdm: cosine, rank: spearman, normalization: raw, bootstrap: emotions,
              ci: jackknife-t, n_boot: 2000, permutations: 9999, confidence: 0.95, adjust: holm}
    layers: {points: 8, n_boot: 500, last_k: 4}   # false: no layer-sensitivity section
    geometry: {layers: 8, n_boot: 500}           # false: no anisotropy section
    decompose: {mode: auto, n_boot: 500}         # mode auto (when the files allow it), yes (required), no
    maturity: {mode: auto, n_boot: 1000}         # the a-priori maturity rule on every base model; false: off
    audit: audit.json                            # the JSON of `rsastats audit --json`: adds an audit section
    hypotheses: [valence_arousal.csv]            # hypothesis RDMs (feature CSVs or RDM files): a hypotheses section
    common_emotions: true                        # that section on the emotions every hypothesis has (else an error)
    partial: [token_count_rdm.nc]                # confound RDMs: the partial Mantel test of every pair (and hypothesis)
    notes: Free text shown under the title.

Relative paths are taken relative to the analysis file.  Unknown keys are errors.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from ..checks import check_choice, check_confidence, check_count
from ..exceptions import FileFormatError, ValidationError
from ..inference.bootstrap import CI_METHODS, DEFAULT_CI, DEFAULT_N_BOOT
from ..inference.multiple import ADJUSTMENTS
from ..inference.ceiling import DEFAULT_N_SPLITS
from ..inference.permutation import DEFAULT_PERMUTATIONS
from ..io import load_mapping_text
from ..inputs import file_path, layer_value
from ..vectors import DEFAULT_N_PCS

__all__ = ["ReportConfig", "load_config", "DECOMPOSE_CHOICES", "MATURITY_CHOICES"]

DECOMPOSE_CHOICES = ("auto", "yes", "no")
MATURITY_CHOICES = ("auto", "no")


@dataclass(frozen=True)
class ReportConfig:
    """Every setting of a report.

    Attributes
    ----------
    files, names : the input files (activations, vectors or RDMs) and their names in tables
        (default: file stems).
    reference : name of the model whose hierarchical clustering orders the emotions everywhere,
        whose MDS the others are rotated to, and against which layer curves are drawn.
    layer, last_k, normalization, n_pcs, rdm, rank : how each file becomes an RDM and how RDMs are
        compared (as in ``rsastats compare``).
    bootstrap, ci, n_boot, permutations, confidence, adjust, n_splits : inference settings of the
        main comparison (``adjust`` is the primary adjustment; the table shows Holm and BH).
    layer_points, layer_n_boot, last_k_check : layer sensitivity: rho at ``layer_points`` depths
        from the embedding output to the last layer (0 turns the section off), each with
        ``layer_n_boot`` resamples, plus the mean of the last ``last_k_check`` layers (0: not shown).
    geometry_layers, geometry_n_boot : anisotropy at up to ``geometry_layers`` layers per file
        (0 turns the section off).
    decompose, decompose_n_boot : variance decomposition: ``auto`` (when the files allow one),
        ``yes`` (required) or ``no``.
    maturity, maturity_n_boot : the a-priori maturity rule (:mod:`rsastats.maturity`) applied to
        every activations file of a base model (``auto``) or not at all (``no``), with
        ``maturity_n_boot`` resamples (the rule's own 1000 by default).
    audit : JSON file written by ``rsastats audit --json``; adds an audit section.
    hypotheses : hypothesis RDMs (feature CSVs or RDM files, :mod:`rsastats.hypotheses`); adds a section with
        every file against every hypothesis (the numbers of ``rsastats hypotheses`` with these settings).
    common_emotions : the hypotheses section on the emotions every hypothesis and confound has (the files are
        cut before their RDMs are made, as ``rsastats hypotheses --common-emotions``; the section names the
        emotions left out); otherwise a hypothesis that lacks an emotion of the files is an error.  The
        other sections use every emotion.
    partial : confound RDMs (feature CSVs or RDM files); adds the partial Mantel test of every pair of
        files and, with ``hypotheses``, of every file and hypothesis (``rank`` spearman or pearson).
    title, notes : shown at the top of the report.
    seed : seed of every random procedure of the report.
    """

    files: tuple[str, ...]
    names: tuple[str, ...] | None = None
    reference: str | None = None
    title: str = "rsastats report"
    notes: str = ""
    layer: int | None = None
    last_k: int | None = None
    normalization: str = "raw"
    n_pcs: int = DEFAULT_N_PCS
    rdm: str = "cosine"
    rank: str = "spearman"
    bootstrap: str | None = None
    ci: str = DEFAULT_CI
    n_boot: int = DEFAULT_N_BOOT
    permutations: int = DEFAULT_PERMUTATIONS
    confidence: float = 0.95
    adjust: str = "holm"
    n_splits: int = DEFAULT_N_SPLITS
    layer_points: int = 8
    layer_n_boot: int = 500
    last_k_check: int = 4
    geometry_layers: int = 8
    geometry_n_boot: int = 500
    decompose: str = "auto"
    decompose_n_boot: int = 500
    maturity: str = "auto"
    maturity_n_boot: int = 1000
    audit: str | None = None
    hypotheses: tuple[str, ...] = ()
    partial: tuple[str, ...] = ()
    common_emotions: bool = False
    seed: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["files"] = list(self.files)
        out["names"] = list(self.names) if self.names is not None else None
        out["extra"] = dict(self.extra)
        for key in ("hypotheses", "partial"):  # only when given: a report without them is as before
            if out[key]:
                out[key] = list(out[key])
            else:
                del out[key]
        if not out["common_emotions"]:  # likewise
            del out["common_emotions"]
        return out

    def checked(self) -> "ReportConfig":
        return _config_iv(self)


def _config_iv(config: ReportConfig) -> ReportConfig:
    files = tuple(str(f) for f in config.files)
    if len(files) < 2:
        raise ValidationError(f"a report needs at least 2 files; got {len(files)}")
    names = config.names
    if names is not None:
        names = tuple(str(n) for n in names)
        if len(names) != len(files):
            raise ValidationError(f"{len(names)} names for {len(files)} files")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValidationError(f"model name {dup[0]!r} is given more than once")
        if any(not n.strip() for n in names):
            raise ValidationError("model names must not be empty")
    ci = check_choice("interval method", config.ci, CI_METHODS)
    adjust = check_choice("p-value adjustment", config.adjust, ADJUSTMENTS, {"fdr_bh": "bh", "fdr": "bh"})
    decompose = config.decompose
    if isinstance(decompose, bool):
        decompose = "yes" if decompose else "no"
    decompose = check_choice("decompose", decompose, DECOMPOSE_CHOICES, {"true": "yes", "false": "no"})
    maturity = config.maturity
    if isinstance(maturity, bool):
        maturity = "auto" if maturity else "no"
    maturity = check_choice("maturity", maturity, MATURITY_CHOICES, {"true": "auto", "yes": "auto", "false": "no"})
    for name in ("n_pcs", "permutations", "n_splits"):
        check_count(name.replace("_", "-"), getattr(config, name), 1)
    for name in ("n_boot", "layer_n_boot", "geometry_n_boot", "decompose_n_boot", "maturity_n_boot"):
        check_count(name.replace("_", "-"), getattr(config, name), 2)  # one resample gives no interval
    for name in ("layer_points", "last_k_check", "geometry_layers", "seed"):
        check_count(name.replace("_", "-"), getattr(config, name), 0)
    if config.layer_points == 1:
        raise ValidationError("layer-points must be 0 (no layer curve) or at least 2")
    if config.layer is not None and config.last_k is not None:
        raise ValidationError("give either layer or last_k, not both")
    hypotheses, partial = _paths(config.hypotheses, "hypotheses"), _paths(config.partial, "partial")
    if hypotheses and config.bootstrap in ("prompts", "both"):  # refused before the main comparison runs
        raise ValidationError(f"--bootstrap {config.bootstrap} resamples prompts, which a hypothesis RDM has none "
                              "of; with --hypotheses use --bootstrap emotions")
    if not isinstance(config.common_emotions, bool):
        raise ValidationError(f"common_emotions must be true or false; got {config.common_emotions!r}")
    if config.common_emotions and not hypotheses:
        raise ValidationError("common-emotions cuts the hypotheses section to the emotions every hypothesis has: "
                              "give hypotheses too")
    if partial:
        from ..inference.partial import partial_rank_name
        from ..measures import rank_method_name

        partial_rank_name(rank_method_name(config.rank))
    return replace(config, files=files, names=names, ci=ci, adjust=adjust, decompose=decompose, maturity=maturity,
                   hypotheses=hypotheses, partial=partial,
                   layer=layer_value(config.layer),
                   confidence=check_confidence(config.confidence),
                   audit=None if config.audit in (None, "") else str(config.audit))


def _paths(value: Any, what: str) -> tuple[str, ...]:
    """A tuple of file paths (one path or a list of them)."""
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, os.PathLike)) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, (str, os.PathLike)) and str(v).strip()
                                                       for v in items):
        raise ValidationError(f"{what} must be a list of file paths; got {value!r}")
    return tuple(str(v) for v in items)


# --------------------------------------------------------------------------- analysis files
_SECTION_KEYS = {
    "compare": {"layer": "layer", "last_k": "last_k", "normalization": "normalization", "n_pcs": "n_pcs", "rdm": "rdm",
                "rank": "rank",
                "bootstrap": "bootstrap", "ci": "ci", "n_boot": "n_boot", "permutations": "permutations",
                "confidence": "confidence", "adjust": "adjust", "n_splits": "n_splits"},
    "layers": {"points": "layer_points", "n_boot": "layer_n_boot", "last_k": "last_k_check"},
    "geometry": {"layers": "geometry_layers", "n_boot": "geometry_n_boot"},
    "decompose": {"mode": "decompose", "n_boot": "decompose_n_boot"},
    "maturity": {"mode": "maturity", "n_boot": "maturity_n_boot"},
}
_TOP_KEYS = {"title", "notes", "seed", "reference", "models", "files", "compare", "layers", "geometry", "decompose",
             "maturity", "audit", "hypotheses", "partial", "common_emotions", "extra"}
_OFF_VALUE = {"layers": ("layer_points", 0), "geometry": ("geometry_layers", 0)}


def _read_mapping(path: Path) -> dict[str, Any]:
    data = load_mapping_text(path, "analysis file")
    if not isinstance(data, dict):
        raise FileFormatError("an analysis file must be a mapping (title:, models:, compare:, ...)", path=path)
    return data


def _resolve(base: Path, value: Any, path: Path, what: str) -> str:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise FileFormatError(f"{what} must be a file path; got {value!r}", path=path)
    if str(value).startswith("builtin:"):  # a built-in hypothesis (rsastats.hypotheses.BUILTIN_HYPOTHESES)
        return str(value)
    p = Path(str(value)).expanduser()
    return str(p if p.is_absolute() else base / p)


def _default_name(item: str) -> str:
    """A model's name in tables: the file's stem, with its layer when given as FILE@LAYER."""
    path = file_path(item)
    return Path(path).stem + ("" if path == item else "@" + item.rpartition("@")[2])


def _models(models: Any, base: Path, path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The files and names of an analysis file's ``models:`` (paths or {path, name} mappings)."""
    if not isinstance(models, list) or not models:
        raise FileFormatError("models: must be a list of paths or {path, name} mappings", path=path)
    files, names = [], []
    for item in models:
        if isinstance(item, dict):
            extra_keys = sorted(set(item) - {"path", "name"})
            if extra_keys or "path" not in item:
                raise FileFormatError(f"each model needs 'path' (and optionally 'name'); got keys {sorted(item)}",
                                      path=path)
            files.append(_resolve(base, item["path"], path, "a model path"))
            names.append(str(item.get("name") or _default_name(files[-1])))
        else:
            files.append(_resolve(base, item, path, "a model path"))
            names.append(_default_name(files[-1]))
    return tuple(files), tuple(names)


def load_config(path: str | os.PathLike, **overrides: Any) -> ReportConfig:
    """A :class:`ReportConfig` from an analysis file; ``overrides`` (not None) win over it."""
    path = Path(path)
    data = _read_mapping(path)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise FileFormatError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_TOP_KEYS))}", path=path)
    base = path.parent
    settings: dict[str, Any] = {}
    models = data.get("models", data.get("files"))
    if models is not None:
        settings["files"], settings["names"] = _models(models, base, path)
    for key in ("title", "notes", "reference"):
        if key in data and data[key] is not None:
            settings[key] = str(data[key])
    if "seed" in data:
        settings["seed"] = data["seed"]
    if data.get("audit"):
        settings["audit"] = _resolve(base, data["audit"], path, "audit")
    for key in ("hypotheses", "partial"):
        if data.get(key):
            items = data[key] if isinstance(data[key], list) else [data[key]]
            settings[key] = tuple(_resolve(base, v, path, f"a {key} path") for v in items)
    if "common_emotions" in data:
        settings["common_emotions"] = data["common_emotions"]
    if "extra" in data:
        if not isinstance(data["extra"], dict):
            raise FileFormatError("extra: must be a mapping", path=path)
        settings["extra"] = data["extra"]
    for section, keys in _SECTION_KEYS.items():
        if section not in data:
            continue
        value = data[section]
        if value is False and section in _OFF_VALUE:
            name, off = _OFF_VALUE[section]
            settings[name] = off
            continue
        if section in ("decompose", "maturity") and isinstance(value, (bool, str)):
            settings[section] = value
            continue
        if value is None:
            continue
        if not isinstance(value, dict):
            raise FileFormatError(f"{section}: must be a mapping (or false)", path=path)
        bad = sorted(set(value) - set(keys))
        if bad:
            raise FileFormatError(f"unknown key(s) in {section}: {', '.join(bad)}; allowed: {', '.join(keys)}", path=path)
        for key, target in keys.items():
            if key in value:
                settings[target] = value[key]
        if section == "decompose":
            settings.setdefault("decompose", "yes")  # a decompose section without a mode asks for it
    given = {k: v for k, v in overrides.items() if v is not None}
    if "files" in given and "names" not in given:
        settings.pop("names", None)  # the file's names belong to the file's models, not to these
    settings.update(given)
    if "files" not in settings:
        raise FileFormatError("no input files: list them under models: or give them on the command line", path=path)
    known = {f.name for f in fields(ReportConfig)}
    bad = sorted(set(settings) - known)
    if bad:
        raise ValidationError(f"unknown report setting(s): {', '.join(bad)}")
    try:
        return ReportConfig(**settings).checked()
    except ValidationError as exc:
        raise ValidationError(exc.problem, path=path) from None
