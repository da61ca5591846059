"""``rsastats extract``: run a model over a stimulus set and write an activations file.

torch and transformers are imported only inside the command, so ``rsastats extract --help``
stays fast and torch-free; the torch-free parts (recipes, registry) are imported at the top.
"""

from __future__ import annotations

import sys

import click

from extraction.config import CHAT_TEMPLATE_CHOICES, FINAL_NORMS, METHODS, POOLINGS, PRECISIONS, RECIPES, make_config
from extraction.registry import REGISTRY

from ..options import json_option, quiet_option, scheduler_option
from ..output import emit_json, stdout_console
from ..progress import step_progress

_RECIPE_HELP = "; ".join(f"{name}: {recipe.description}" for name, recipe in RECIPES.items())


def _emotions(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    labels = tuple(v.strip() for v in value.split(",") if v.strip())
    if not labels:
        raise click.BadParameter("give at least one emotion", param_hint="--emotions")
    return labels


def _baseline_limit(value: str | None) -> int | None:
    if value is None or value == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"expected a number or 'all', got {value!r}", param_hint="--baseline-limit") from None
    if number < 0:
        raise click.BadParameter("must be >= 0", param_hint="--baseline-limit")
    return number


def _list_models(as_json: bool) -> None:
    rows = [spec.to_dict() for spec in REGISTRY.values()]
    if as_json:
        emit_json({"models": rows})
        return
    from rich.table import Table

    table = Table(title="Models known by name (any local folder, .gguf file or cached hub id works too)",
                  title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("hub id", no_wrap=True)
    table.add_column("variant")
    table.add_column("weights from")
    for spec in REGISTRY.values():
        table.add_row(spec.name, spec.source, spec.variant + (" (encoder)" if spec.kind == "encoder" else ""),
                      f"pip package {spec.package}" if spec.package else "local HF cache")
    stdout_console().print(table)


@click.command("extract")
@click.option("--model", "-m", default=None, help="Registry name (see --list-models), local folder, .gguf file, or a hub id "
              "already in the local Hugging Face cache. Default: 'default' (SmolLM2-135M-Instruct, ships offline).")
@click.option("--recipe", type=click.Choice(list(RECIPES)), default=None, help=f"Named preset; explicit options override it. {_RECIPE_HELP}.")
@click.option("--method", type=click.Choice(METHODS), default=None, help="comprehension (read each stimulus) or generation "
              "(generate from each prompt, then read prompt + continuation), or a vector stage made from a reading: "
              "mean-diff / pca-diff (mean / first principal component of the contrast-pair differences; --stimuli "
              "contrast), baseline-diff (minus the baseline mean), neutral-pc (baseline PCs projected out). "
              "Default: comprehension.")
@click.option("--pooling", type=click.Choice(POOLINGS), default=None, help="Which tokens make the vector: last (last input "
              "token), last-stimulus, mean (stimulus tokens; template/chat tokens excluded), mean-generated. "
              "Default: last (comprehension), mean-generated (generation).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None, help="fp32 (default), fp16, bf16, or one of three "
              "INT8 schemes: int8-dynamic (torch dynamic quantization, per-tensor activation scale), int8-token "
              "(torchao per-token activations + int8 weights), int8-weight (torchao weight-only).")
@click.option("--layers", default=None, help="'all' (default; the repeng and steering-vectors recipes: 'blocks', every block's "
              "output without the embedding output), 'blocks', 'last', integers (negative count from the end) and ranges: "
              "'0,-1', '20-30'. 0 = embedding output, i = output of block i.")
@click.option("--final-norm", type=click.Choice(FINAL_NORMS), default=None,
              help="Last layer after (post, default, as hidden_states[-1]) or before (pre) the model's final norm.")
@click.option("--stimuli", default=None, help="'named' (default), 'implicit', 'contrast' (the named texts paired with "
              "emotion-free versions: the stimuli of mean-diff and pca-diff), or a CSV/TSV/JSON file of emotion,text.")
@click.option("--baseline", default=None, help="Emotion-free texts: 'builtin' (default), 'none', or a file (CSV text column, JSON list, or one per line).")
@click.option("--prompt-template", default=None, help="Generation: one prompt per emotion with '{emotion}', sampled --samples times.")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Generations per emotion with --prompt-template (default 10).")
@click.option("--template", default=None, help="Wraps each stimulus; '{text}' marks where (default '{text}'). Its tokens are never mean-pooled.")
@click.option("--chat-template", type=click.Choice(CHAT_TEMPLATE_CHOICES), default=None,
              help="Wrap inputs in the tokenizer's chat template: auto (instruct models, default), on, off.")
@click.option("--skip-first-token/--keep-first-token", default=None,
              help="Mean pooling leaves out sequence position 0, whose activations can be ~100x the rest (default: keep).")
@click.option("--temperature", type=click.FloatRange(min=0), default=None, help="Sampling temperature (generation; 0 = greedy; default 1).")
@click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), default=None, help="Nucleus sampling mass (generation; default 1 = off).")
@click.option("--top-k", type=click.IntRange(min=0), default=None, help="Top-k filter (generation; default 0 = off; jeong-generation uses transformers' implicit 50).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=None, help="Tokens to generate per prompt (default 100).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the sampling (default 0); each prompt gets its own child stream.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Sequences per forward pass (default 16; speed only).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N prompts per emotion (quick runs).")
@click.option("--baseline-limit", default=None, help="Only the first N baseline texts, or 'all' (default).")
@click.option("--emotions", default=None, help="Comma-separated subset of emotions, in this order.")
@click.option("--experiment", default=None, help="Free label stored in the file's 'experiment' attribute.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=str), default=None, help="Activations file to write (.nc).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--restart", is_flag=True, help="Discard an unfinished earlier run of --out instead of resuming it.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch (default: torch's choice; "
              "on a busy shared machine 1 can be much faster).")
@click.option("--list-models", is_flag=True, help="List the models known by name and exit.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Run every task of a YAML/JSON manifest (one extraction and output file per task; see "
                   "docs/extraction.md); what is done is kept in MANIFEST.state.json, so running it again does the rest.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="With --manifest: run a task that failed (other than for bad input) again this many times.")
@click.option("--allow-outside", is_flag=True, help="With --manifest: let tasks write outside the manifest's folder "
              "(an 'out' with '..' or an absolute path elsewhere is refused otherwise).")
@scheduler_option
@quiet_option
@json_option
def extract_command(model, recipe, method, pooling, precision, layers, final_norm, stimuli, baseline, prompt_template,
                    samples, template, chat_template, skip_first_token, temperature, top_p, top_k, max_new_tokens, seed,
                    batch_size, limit, baseline_limit, emotions, experiment, out, overwrite, restart, threads,
                    list_models, manifest, retries, allow_outside, scheduler, quiet, as_json) -> None:
    """Run a language model over a stimulus set and write its residual-stream activations (schema v1).

    Each finished emotion is kept in OUT.parts/ beside the output; if the run is killed, the same
    command resumes it and writes the file an uninterrupted run would have written. Nothing is
    downloaded: models come from packages, local folders, or the local Hugging Face cache.

    \b
    Examples:
      rsastats extract --out runs/smollm2.nc                         # default model, named stimuli
      rsastats extract --recipe study --model llama-3.2-3b-instruct --out runs/llama.nc
      rsastats extract --recipe jeong-generation --samples 5 --out runs/gen.nc
      rsastats extract --model minilm --stimuli implicit --pooling mean --out runs/minilm.nc
      rsastats extract --precision int8-token --limit 4 --emotions happy,sad,calm --out quick.nc
    """
    if list_models:
        _list_models(as_json)
        return
    if manifest is not None:
        per_run = {"--model": model, "--recipe": recipe, "--method": method, "--pooling": pooling, "--precision": precision,
                   "--layers": layers, "--final-norm": final_norm, "--stimuli": stimuli, "--baseline": baseline,
                   "--prompt-template": prompt_template, "--samples": samples, "--template": template,
                   "--chat-template": chat_template, "--skip-first-token": skip_first_token, "--temperature": temperature,
                   "--top-p": top_p, "--top-k": top_k, "--max-new-tokens": max_new_tokens, "--seed": seed,
                   "--batch-size": batch_size, "--limit": limit, "--baseline-limit": baseline_limit,
                   "--emotions": emotions, "--experiment": experiment, "--out": out}
        given = [name for name, value in per_run.items() if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} cannot be combined with --manifest: put settings in the "
                                   "manifest's 'defaults' or in its tasks")
        _run_manifest(manifest, scheduler, retries, overwrite, restart, threads, quiet, as_json, allow_outside)
        return
    if allow_outside:
        raise click.UsageError("--allow-outside applies to --manifest runs only")
    if out is None:
        raise click.UsageError("missing option '--out' (the activations file to write)")
    config = make_config(
        recipe, model=model, method=method, pooling=pooling, precision=precision, layers=layers, final_norm=final_norm,
        stimuli=stimuli, baseline=baseline, prompt_template=prompt_template, samples=samples, template=template,
        chat_template=chat_template, skip_first_token=skip_first_token, temperature=temperature, top_p=top_p,
        top_k=top_k, max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, limit=limit,
        baseline_limit=_baseline_limit(baseline_limit), emotions=_emotions(emotions), experiment=experiment)
    if not scheduler:
        from extraction.recipe_run import run_extraction as extract  # imports torch

        if threads is not None:
            import torch

            torch.set_num_threads(threads)

    if scheduler:
        result = _extract_on_cluster(config, out, overwrite, restart, threads, scheduler)
    else:
        with step_progress() as progress:
            result = extract(config, out, overwrite=overwrite, restart=restart,
                             progress=progress.extraction(f"{config.model} {config.method}"))
    if as_json:
        emit_json(result.to_dict())
        return
    from rich.table import Table

    table = Table(title=f"wrote {result.out}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("model", result.model)
    table.add_row("method / pooling", f"{result.method} / {result.pooling}")
    table.add_row("precision", result.precision)
    table.add_row("emotions x prompts", f"{result.n_emotions} x {result.n_prompts}")
    table.add_row("layers", f"{len(result.layers)} ({result.layers[0]}..{result.layers[-1]}), hidden {result.hidden_size}")
    table.add_row("baseline texts", str(result.n_baseline))
    if result.resumed_emotions:
        table.add_row("resumed", f"{len(result.resumed_emotions)} emotion(s) were already on disk")
    table.add_row("tokens", f"{result.tokens:,} in {result.seconds:.1f} s ({result.tokens_per_second:,.0f} tok/s)")
    for problem in result.problems:
        table.add_row("[yellow]note[/yellow]", problem)
    stdout_console().print(table)


def _extract_on_cluster(config, out, overwrite, restart, threads, scheduler):
    """One extraction as one task on a dask worker (which needs the extract extra and the paths)."""
    import os

    from extraction.manifest import extract_task

    from ...parallel import runner_for

    out = os.path.abspath(out)
    with runner_for(scheduler) as runner:  # the worker holds the output's lock for the whole run
        [(_, result, error)] = list(runner.each(extract_task, [(config, out, overwrite, threads, restart)]))
    if error is not None:
        raise error
    return result


def _run_manifest(manifest, scheduler, retries, overwrite, restart, threads, quiet, as_json, allow_outside) -> None:
    from extraction.manifest import load_manifest, run_manifest

    show = not quiet and not as_json and sys.stderr.isatty()
    total = len(load_manifest(manifest, allow_outside=allow_outside))

    def progress(task, status):
        if show:
            click.echo(f"{status}: {task.describe()}", err=True)

    result = run_manifest(manifest, scheduler=scheduler, retries=retries, overwrite=overwrite, restart=restart,
                          threads=threads, progress=progress, allow_outside=allow_outside)
    if as_json:
        emit_json(result.to_dict())
    else:
        from rich.table import Table

        counts = result.to_dict()
        table = Table(title=f"{manifest}: {total} tasks, {counts['n_done']} done now, {counts['n_skipped']} done before, "
                            f"{counts['n_failed']} failed (state: {result.state})", title_justify="left")
        for column in ("#", "model", "precision", "out", "status", "tokens", "seconds"):
            table.add_column(column, justify="right" if column in ("#", "tokens", "seconds") else "left")
        for o in result.outcomes:
            table.add_row(str(o.index + 1), o.model, o.precision, o.out,
                          o.status if not o.error else f"{o.status}: {o.error}",
                          "" if o.tokens is None else f"{o.tokens:,}", "" if o.seconds is None else f"{o.seconds:.1f}")
        stdout_console().print(table)
    if result.n_failed:  # one line: each failed task, its output and reason; retry advice only when it can help
        click.echo("error: " + " ".join(result.failure_message().split()), err=True)
        raise click.exceptions.Exit(1 if any(o.retryable for o in result.outcomes) else 2)
