"""``rsastats demo``: the whole pipeline on the two offline models, ending in a report."""

from __future__ import annotations

import click

from ..options import json_option, quiet_option
from ..output import emit_json, stdout_console
from ..progress import step_progress


@click.command("demo")
@click.option("--out", "-o", default="reports/demo", show_default=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder of the report.")
@click.option("--work", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Folder for the activations files [default: build/demo/full, or build/demo/quick with --quick].")
@click.option("--quick", is_flag=True, help="A few prompts and resamples only: checks the pipeline in about a minute.")
@click.option("--int8", "int8", type=click.Choice(["int8-weight", "int8-token", "int8-dynamic"]), default="int8-weight",
              show_default=True, help="INT8 scheme of the precision step (int8-token is ~15x slower on CPUs without VNNI).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="torch threads for extraction (more can be much slower on a shared machine).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of generation and of every resampling.")
@quiet_option
@json_option
def demo_command(out: str, work: str | None, quick: bool, int8: str, threads: int, seed: int, quiet: bool,
                 as_json: bool) -> None:
    """Run the whole pipeline on the embedded offline models and write a report.

    Extracts the built-in stimuli from SmolLM2-135M-Instruct (comprehension at fp32, bf16 and INT8;
    generation at two temperatures and a second seed; implicit stories as a second experiment) and from
    all-MiniLM-L6-v2, then compares every pair, draws layer curves and anisotropy, decomposes the
    method effects, and writes index.html, report.md, LaTeX tables and figures to --out. Interrupted
    runs resume; finished steps are skipped. Nothing is downloaded.

    \b
    Examples:
      rsastats demo                       # about 7 minutes on 2 CPU cores; `make demo` runs this
      rsastats demo --quick --out /tmp/demo
    """
    from ..demo import run_demo

    def log(line: str) -> None:
        if not quiet:
            click.echo(line, err=True)

    with step_progress() as progress:
        result = run_demo(out, work=work, quick=quick, int8=int8, seed=seed, threads=threads, progress=progress, log=log)
    if as_json:
        emit_json(result.to_dict())
        return
    if result.report is not None:
        from .report import render_summary

        render_summary(result.report)
    else:
        stdout_console().print(f"report up to date: {result.out / 'index.html'}", highlight=False)
    stdout_console().print(f"demo finished in {result.seconds:.0f} s; open {result.out / 'index.html'}", highlight=False)
