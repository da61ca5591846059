"""The whole pipeline on the two offline models, ending in a report (``rsastats demo``, ``make demo``).

Steps: extract the built-in stimuli from SmolLM2-135M-Instruct (comprehension at fp32, bf16 and an
INT8 scheme; generation at two temperatures and with a second sampling seed; comprehension of the
implicit stories as a second experiment) and from all-MiniLM-L6-v2 (both stimulus sets), then compare every pair, draw the
layer curves and anisotropy, decompose the variance into the study's method layers, and write
the report.

Resumable and idempotent: each extraction writes ``<work>/<name>.nc`` (interrupted runs resume
from ``<name>.nc.parts/``); a finished file whose recorded settings match is skipped; the report
is skipped when ``<out>/report.json`` was made from the same data (:func:`rsastats.io.content_sha256`),
settings and analysis code (:func:`code_sha256` of the ``rsastats`` package's sources).

The sizes (prompts per emotion, baseline texts, samples and new tokens of generation) are chosen
so that ``make demo`` on a fresh clone finishes in under 15 minutes on a 2-core CPU machine,
installation included; the report says which were used.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..io import atomic_path, content_sha256
from ..exceptions import ConfigMismatchError, ValidationError
from .progress import Progress

__all__ = ["DemoSizes", "DemoStep", "FULL", "QUICK", "INT8_SCHEMES", "demo_steps", "demo_report_config", "run_demo",
           "DemoResult", "content_sha256", "code_sha256"]

INT8_SCHEMES = ("int8-weight", "int8-token", "int8-dynamic")
_DEMO_VERSION = 1  # bump when the plan changes meaning, so old work is not reused


@dataclass(frozen=True)
class DemoSizes:
    """How much each step reads and how many resamples the report draws."""

    prompts: int  # named (and implicit) stimuli per emotion, of 48 (44)
    baseline: int  # emotion-free texts per run, of 150
    samples: int  # generated continuations per emotion
    new_tokens: int  # tokens generated per continuation
    n_boot: int
    permutations: int
    layer_points: int
    layer_n_boot: int
    geometry_layers: int
    geometry_n_boot: int
    decompose_n_boot: int


# Measured on the 2-core development machine (shared): see docs/report.md, "The demo".
FULL = DemoSizes(prompts=8, baseline=24, samples=3, new_tokens=16, n_boot=2000, permutations=9999, layer_points=8,
                 layer_n_boot=500, geometry_layers=8, geometry_n_boot=500, decompose_n_boot=500)
QUICK = DemoSizes(prompts=2, baseline=6, samples=2, new_tokens=8, n_boot=200, permutations=999, layer_points=4,
                  layer_n_boot=100, geometry_layers=3, geometry_n_boot=100, decompose_n_boot=50)


@dataclass(frozen=True)
class DemoStep:
    """One extraction: the file it writes (``name``.nc) and the options of ``make_config``."""

    name: str
    description: str
    options: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "options": dict(self.options)}


def demo_steps(sizes: DemoSizes = FULL, int8: str = "int8-weight", seed: int = 0) -> tuple[DemoStep, ...]:
    """The extractions of the demo, in the order they run."""
    if int8 not in INT8_SCHEMES:
        raise ValidationError(f"int8 scheme must be one of {', '.join(INT8_SCHEMES)}; got {int8!r}")
    # Comprehension reads each stimulus without the chat template (whose injected system prompt would
    # triple the tokens) and averages the stimulus tokens, leaving out position 0 (outlier activations).
    read = dict(method="comprehension", pooling="mean", skip_first_token=True, chat_template="off",
                limit=sizes.prompts, baseline_limit=sizes.baseline, seed=seed)
    named = dict(read, stimuli="named", experiment="named")
    implicit = dict(read, stimuli="implicit", experiment="implicit")
    generate = dict(recipe="jeong-generation", samples=sizes.samples, max_new_tokens=sizes.new_tokens,
                    baseline_limit=sizes.baseline, experiment="named", seed=seed)
    steps = [
        DemoStep("smollm2-fp32", "SmolLM2-135M-Instruct reads the named stimuli, fp32", {"model": "default", **named, "precision": "fp32"}),
        DemoStep("smollm2-bf16", "the same at bf16", {"model": "default", **named, "precision": "bf16"}),
        DemoStep(f"smollm2-{int8}", f"the same with {int8}", {"model": "default", **named, "precision": int8}),
        DemoStep("smollm2-gen-t0.7", "SmolLM2 writes about each emotion (Jeong's generation recipe), temperature 0.7",
                 {"model": "default", **generate, "temperature": 0.7, "precision": "fp32"}),
        DemoStep("smollm2-gen-t1.0", "the same at temperature 1.0", {"model": "default", **generate, "temperature": 1.0,
                                                                      "precision": "fp32"}),
        # a replicate with another sampling seed: separates the temperature effect from sampling noise
        DemoStep("smollm2-gen-t0.7-seed1", "temperature 0.7 again, another sampling seed",
                 {"model": "default", **generate, "temperature": 0.7, "seed": seed + 1, "precision": "fp32"}),
        DemoStep("smollm2-implicit", "SmolLM2 reads the implicit stories (another experiment), fp32",
                 {"model": "default", **implicit, "precision": "fp32"}),
        DemoStep("minilm", "all-MiniLM-L6-v2 reads the named stimuli, fp32", {"model": "minilm", **named, "precision": "fp32"}),
        DemoStep("minilm-implicit", "all-MiniLM-L6-v2 reads the implicit stories, fp32",
                 {"model": "minilm", **implicit, "precision": "fp32"}),
    ]
    return tuple(steps)


def demo_notes(sizes: DemoSizes, int8: str, quick: bool) -> str:
    return (
        f"Made by `rsastats demo{' --quick' if quick else ''}` on the two models that ship with the package (no network): "
        f"SmolLM2-135M-Instruct (its Q4_1 GGUF weights, dequantized) and all-MiniLM-L6-v2. To fit the demo's budget "
        f"(15 minutes on a 2-core CPU, installation included) every run reads the first {sizes.prompts} stimuli per "
        f"emotion (of 48 named, 44 implicit) and {sizes.baseline} of the 150 emotion-free baseline texts, and generation "
        f"samples {sizes.samples} continuations of {sizes.new_tokens} new tokens per emotion; comprehension averages the "
        f"stimulus tokens (no chat template, first token left out). The INT8 run uses {int8} (docs/extraction.md: "
        f"int8-token is ~15x slower on this CPU, int8-dynamic changes results with its per-tensor scale). With so few "
        f"prompts the intervals are wide: this report shows what the pipeline does, not findings about the models."
    )


def demo_report_config(files: list[str], names: list[str], sizes: DemoSizes, notes: str, seed: int, extra: Mapping[str, Any]):
    from ..report import ReportConfig

    return ReportConfig(
        files=tuple(files), names=tuple(names), reference="smollm2-fp32", title="rsastats demo: emotion geometry of two "
        "small offline models", notes=notes, n_boot=sizes.n_boot, permutations=sizes.permutations,
        layer_points=sizes.layer_points, layer_n_boot=sizes.layer_n_boot, geometry_layers=sizes.geometry_layers,
        geometry_n_boot=sizes.geometry_n_boot, decompose_n_boot=sizes.decompose_n_boot, seed=seed, extra=dict(extra)).checked()


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: each step's status and time, and the report."""

    out: Path
    work: Path
    steps: tuple[dict[str, Any], ...]
    report: Any  # ReportOutput, or None when the report was up to date
    report_status: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "html": str(self.out / "index.html"), "markdown": str(self.out / "report.md"),
                "work": str(self.work), "steps": list(self.steps), "report_status": self.report_status,
                "report": None if self.report is None else self.report.to_dict(), "seconds": self.seconds}


# --------------------------------------------------------------------------- bookkeeping
def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- steps
def _extract_steps(steps: tuple[DemoStep, ...], work: Path, progress: Progress, log: Callable[[str], None],
                   loader: Callable[[str, str], Any] | None) -> list[dict[str, Any]]:
    """Run each extraction that is not already in ``work`` with the same settings; its status and time."""
    from extraction.config import make_config
    from extraction.run import extract

    record_path = work / "steps.json"
    record = _read_json(record_path)
    statuses = []
    for i, step in enumerate(steps, 1):
        target = work / f"{step.name}.nc"
        options = dict(step.options)
        recipe = options.pop("recipe", None)
        config = make_config(recipe, **options)
        fingerprint = {"demo": _DEMO_VERSION, "config": config.to_dict()}
        label = f"[{i}/{len(steps)}] {step.name}"
        if target.is_file() and record.get(step.name, {}).get("fingerprint") == fingerprint:
            log(f"{label}: up to date ({target})")
            statuses.append({"name": step.name, "file": str(target), "status": "up to date", "seconds": 0.0})
            continue
        log(f"{label}: {step.description} ...")
        t0 = time.perf_counter()
        loaded = loader(config.model, config.precision) if loader is not None else None
        sink = progress.extraction(label)
        overwrite = target.exists()
        try:
            result = extract(config, target, overwrite=overwrite, progress=sink, loaded=loaded)
        except ConfigMismatchError:
            # parts of an earlier run with other settings (e.g. --quick before): start this step afresh
            log(f"{label}: discarding an unfinished run with other settings")
            loaded = loader(config.model, config.precision) if loader is not None else None
            result = extract(config, target, overwrite=overwrite, restart=True, progress=sink, loaded=loaded)
        seconds = time.perf_counter() - t0
        status = "resumed" if result.resumed_emotions else "extracted"
        log(f"{label}: {status} in {seconds:.0f} s ({result.tokens:,} tokens)")
        record[step.name] = {"fingerprint": fingerprint, "seconds": round(seconds, 1), "tokens": result.tokens}
        _write_json(record_path, record)
        statuses.append({"name": step.name, "file": str(target), "status": status, "seconds": seconds})
    return statuses


def code_sha256() -> str:
    """SHA-256 of the ``rsastats`` package's Python sources (relative paths and contents, in path order): the
    code a report is made with, so that a changed analysis makes ``make demo`` rebuild its report."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _report_config(steps: tuple[DemoStep, ...], work: Path, sizes: DemoSizes, quick: bool, int8: str, seed: int):
    """The report's settings, with the demo's plan and the content fingerprints of its inputs."""
    files = [str(work / f"{s.name}.nc") for s in steps]
    names = [s.name for s in steps]
    inputs = {name: content_sha256(Path(f)) for name, f in zip(names, files)}
    extra = {"demo": {"version": _DEMO_VERSION, "quick": quick, "int8": int8, "sizes": asdict(sizes),
                      "steps": [s.to_dict() for s in steps]}, "inputs_content_sha256": inputs,
             "code_sha256": code_sha256()}
    return demo_report_config(files, names, sizes, demo_notes(sizes, int8, quick), seed, extra)


def _report_up_to_date(out: Path, report_config: Any, seed: int) -> bool:
    """Whether ``out`` holds a report made from the same data (content fingerprints), settings and code."""
    previous = _read_json(out / "report.json").get("config", {})
    wanted = json.loads(json.dumps(report_config.to_dict()["extra"], sort_keys=True))
    return (out / "index.html").is_file() and previous.get("extra") == wanted and previous.get("seed") == seed


# --------------------------------------------------------------------------- entry point
def run_demo(out: str | os.PathLike = "reports/demo", *, work: str | os.PathLike | None = None, quick: bool = False,
             int8: str = "int8-weight", seed: int = 0, threads: int | None = 1, progress: Progress | None = None,
             log: Callable[[str], None] | None = None,
             loader: Callable[[str, str], Any] | None = None) -> DemoResult:
    """Run the demo (see the module docstring) and return what it did.

    Parameters
    ----------
    out : report folder.
    work : folder for the activations files (default ``build/demo/full`` or ``build/demo/quick``).
    quick : a few prompts and resamples only (a smoke test of the pipeline, about a minute).
    int8 : the INT8 scheme of the precision step.
    seed : seed of generation and of every resampling.
    threads : torch threads for extraction (1 by default: on a shared machine more threads can be
        many times slower, see docs/extraction.md; ``None`` leaves torch's default).
    progress : the command line's progress bar (:class:`rsastats.cli.progress.Progress`); none drawn
        by default.
    log : called with one line per step (e.g. ``click.echo`` to stderr).
    loader : ``loader(model, precision)`` returning a loaded model (tests use tiny models);
        default: :func:`extraction.models.load_model`.
    """
    started = time.perf_counter()
    sizes = QUICK if quick else FULL
    seed = int(seed)
    steps = demo_steps(sizes, int8, seed)
    out = Path(out)
    work = Path(work) if work is not None else Path("build") / "demo" / ("quick" if quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    progress = progress or Progress(enabled=False)
    log = log or (lambda line: None)
    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))
    statuses = _extract_steps(steps, work, progress, log, loader)
    report_config = _report_config(steps, work, sizes, quick, int8, seed)
    if _report_up_to_date(out, report_config, seed):
        log(f"report: up to date ({out / 'index.html'})")
        return DemoResult(out, work, tuple(statuses), None, "up to date", time.perf_counter() - started)
    log("report: comparing, layer curves, anisotropy, decomposition, figures ...")
    t0 = time.perf_counter()
    from ..report import build_report

    report = build_report(report_config, out, progress)
    log(f"report: written in {time.perf_counter() - t0:.0f} s")
    return DemoResult(out, work, tuple(statuses), report, "written", time.perf_counter() - started)
