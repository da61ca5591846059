"""Every example of the README runs as written (issue 15).

The README's ```bash and ```python blocks are read from the file itself.  Each command line of a
bash block runs in one scratch folder that holds small simulated files under the names the README
uses (qwen.nc, llama.nc, paper.nc, runs/*.nc, ...); each python block runs there too.  What is not
run by default is marked in the README itself:

* a line whose comment says ``slow:`` (model extraction, the demo; the README gives its measured
  time) runs only in the ``slow`` test, in README order, in one folder;
* a line whose comment says ``needs`` (weights that are not on this machine) is not run;
* a block after ``<!-- readme: synopsis -->`` is a summary of the subcommands: each one's ``--help``
  must work;
* a block after ``<!-- readme: cluster -->`` needs a dask cluster: not run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
ROOT = README.parent
BLOCK = re.compile(r"(?:<!-- readme: (?P<mark>[a-z]+) -->\s*\n)?```(?P<lang>bash|python)\n(?P<body>.*?)```", re.S)


def _blocks() -> list[tuple[str, str, str]]:
    """(marker, language, body) of every fenced bash/python block of the README."""
    return [(m["mark"] or "", m["lang"], m["body"]) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def _lines(kind: str) -> list[str]:
    """The bash command lines of the README of one kind: ``fast``, ``slow``, ``needs``."""
    out = []
    for mark, lang, body in _blocks():
        if lang != "bash" or mark:
            continue
        for line in body.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            comment = line.split(" #", 1)[1] if " #" in line else ""
            found = "slow" if "slow:" in comment else "needs" if "needs" in comment else "fast"
            if found == kind:
                out.append(line.strip())
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Small simulated files under the README's names."""
    from rsastats.io import make_rdm, make_vectors, write_dataset
    from rsastats.simulate import simulate_activations, true_vectors

    tmp = tmp_path_factory.mktemp("readme")
    (tmp / "runs").mkdir()
    tv = true_vectors(8, 16, seed=1)
    rng = np.random.default_rng(2)
    files = {"qwen.nc": {"model": "qwen", "family": "qwen", "variant": "instruct"},
             "llama.nc": {"model": "llama", "family": "llama", "variant": "instruct"},
             "mistral.nc": {"model": "mistral", "family": "mistral", "variant": "instruct"},
             "run.nc": {"model": "run"},
             "gemma-base.nc": {"model": "gemma-base", "family": "gemma", "variant": "base"},
             "gemma-instruct.nc": {"model": "gemma-instruct", "family": "gemma", "variant": "instruct"},
             "qwen-base.nc": {"model": "qwen-base", "family": "qwen", "variant": "base"},
             "llama-base.nc": {"model": "llama-base", "family": "llama", "variant": "base"},
             "runs/a.nc": {"model": "a"}, "runs/b.nc": {"model": "b"}, "runs/c.nc": {"model": "c"}}
    for i, (name, attrs) in enumerate(files.items()):
        ds = simulate_activations(8, 6, 5, 16, noise=0.6, vectors=tv + 0.3 * rng.standard_normal(tv.shape),
                                  n_baseline=8, attrs=attrs, seed=i)
        write_dataset(ds, tmp / name)
    labels = [str(e) for e in ds["emotion"].values]
    # A peer's vectors of one layer (recorded as layer 15) and our extraction of the same 30-block model.
    ours = simulate_activations(8, 6, 31, 16, noise=0.6, vectors=tv, n_baseline=8, attrs={"model": "smollm2"}, seed=50)
    write_dataset(ours, tmp / "ours.nc")
    peer = ours["activations"].sel(layer=15).mean("prompt").values + 0.1 * rng.standard_normal(tv.shape)
    write_dataset(make_vectors(peer, labels, attrs={"model": "smollm2", "layers": "15"}), tmp / "peer.nc")
    vectors = tv + 0.3 * rng.standard_normal(tv.shape)
    write_dataset(make_vectors(vectors, labels, attrs={"model": "paper"}), tmp / "paper.nc")
    np.save(tmp / "paper.npy", vectors)
    np.save(tmp / "prompts.npy", ds["activations"].values[:, :, -1])  # another tool's (emotion, prompt, hidden)
    # Hypotheses: a feature table and two RDM files (the names of the README's hypotheses examples).
    lines = ["emotion,valence,arousal"] + [f"{e},{rng.normal():.4f},{rng.normal():.4f}" for e in labels]
    (tmp / "valence_arousal.csv").write_text("\n".join(lines) + "\n")
    for name in ("words_rdm.nc", "token_count_rdm.nc"):
        x = rng.standard_normal((len(labels), 3))
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        write_dataset(make_rdm(d, labels, attrs={"rdm_method": "cosine", "source": name}), tmp / name)
    (tmp / "emotions.txt").write_text("\n".join(labels) + "\n")
    (tmp / "analysis.yaml").write_text("title: README example\nmodels: [runs/a.nc, runs/b.nc, runs/c.nc]\n"
                                       "compare: {n_boot: 200, permutations: 199}\n"
                                       "layers: {points: 3, n_boot: 50}\ngeometry: {layers: 2, n_boot: 50}\n"
                                       "maturity: false\n")
    return tmp


def _bash(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """One README command line, with ``rsastats`` this checkout's command line."""
    rsastats = f"{shlex.quote(sys.executable)} -m rsastats"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    script = f'rsastats() {{ {rsastats} "$@"; }}\nset -e\n{line}\n'
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_the_readme_has_examples_of_every_kind():
    assert len(_lines("fast")) >= 10 and _lines("slow")
    assert any(mark == "synopsis" for mark, _, _ in _blocks())


@pytest.mark.parametrize("line", _lines("fast"))
def test_fast_shell_example_runs(folder, line):
    result = _bash(line, folder)
    assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("index", range(sum(lang == "python" for _, lang, _ in _blocks())))
def test_python_example_runs(folder, index, monkeypatch):
    body = [body for _, lang, body in _blocks() if lang == "python"][index]
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(ROOT))
    exec(compile(body, f"README.md python block {index + 1}", "exec"), {"__name__": "readme_example"})


def test_synopsis_commands_exist():
    for mark, _, body in _blocks():
        if mark != "synopsis":
            continue
        for line in body.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "rsastats" and not words[1].startswith("-"):
                result = _bash(f"rsastats {words[1]} --help", ROOT)
                assert result.returncode == 0, line


@pytest.mark.slow
def test_slow_shell_examples_run_in_order(tmp_path):
    """Model extraction and the demo (times in the README): run only with ``make test-slow``."""
    for line in _lines("slow"):
        if line.startswith("make "):
            continue  # `make demo` / `make test` install into .venv: not from inside the test suite
        result = _bash(line, tmp_path)
        assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"
