"""``--scheduler ADDRESS`` (and DASK_SCHEDULER_ADDRESS) on the command line: the same JSON as an
in-process run, against a LocalCluster's address; a bad address is one ``error:`` line, exit 2; and
no help text imports dask, dask.distributed or torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import write_dataset
from rsastats.simulate import simulate_activations, true_vectors

distributed = pytest.importorskip("distributed")

FAST = ["--n-boot", "130", "--permutations", "1500", "--n-splits", "4", "--seed", "2", "--json", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sched")
    tv = true_vectors(8, 16, seed=3)
    rng = np.random.default_rng(0)
    return [str(write_dataset(simulate_activations(8, 5, 2, 16, noise=0.8, vectors=tv + 0.2 * rng.standard_normal(tv.shape),
                                                   seed=i, attrs={"model": f"m{i}"}), tmp / f"m{i}.nc"))
            for i in range(3)]


@pytest.fixture(scope="module")
def address():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
                                  silence_logs=50) as cluster:
        yield cluster.scheduler_address


def _run(args, env=None):
    result = CliRunner(env=env).invoke(cli, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", ["compare", "matrix"])
def test_scheduler_option_gives_the_in_process_result(files, address, command):
    inputs = files[:2] if command == "compare" else files
    ref = _run([command, *inputs, *FAST])
    assert _run([command, *inputs, *FAST, "--scheduler", address]) == ref
    assert _run([command, *inputs, *FAST], env={"DASK_SCHEDULER_ADDRESS": address}) == ref


def test_decompose_with_scheduler_gives_the_in_process_result(tmp_path, address):
    from rsastats.simulate import simulate_condition_vectors

    conds = [dict(model=m, method="comprehension", precision=p, experiment="A")
             for m in ("qwen", "llama") for p in ("fp16", "fp16", "int8-token")]
    paths = [str(write_dataset(ds, tmp_path / f"run{i}.nc"))
             for i, ds in enumerate(simulate_condition_vectors(conds, {"model": 0.5, "precision": 0.3}, 8, 16, seed=0))]
    args = ["decompose", *paths, "--n-boot", "30", "--components", "model,precision", "--no-test", "--json", "--quiet"]
    assert _run([*args, "--scheduler", address]) == _run(args)


def _args_for(command, files, tmp_path):
    if command == "compare":
        return ["compare", *files[:2], *FAST]
    if command == "matrix":
        return ["matrix", *files, *FAST]
    if command == "decompose":
        return ["decompose", *files, "--n-boot", "20", "--components", "model", "--no-test", "--quiet"]
    manifest = tmp_path / "tasks.json"
    manifest.write_text(json.dumps({"defaults": {"model": "default", "stimuli": "named", "limit": 1},
                                    "tasks": [{"out": str(tmp_path / "a.nc")}]}))
    return ["extract", "--manifest", str(manifest), "--quiet"]


@pytest.mark.parametrize("command", ["compare", "matrix", "decompose", "extract"])
@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "not an address"])
def test_bad_scheduler_address_is_one_error_line(files, tmp_path, command, address):
    args = _args_for(command, files, tmp_path)
    for how in ("option", "env"):
        if how == "option":
            result = CliRunner().invoke(cli, [*args, "--scheduler", address])
        else:
            result = CliRunner(env={"DASK_SCHEDULER_ADDRESS": address}).invoke(cli, args)
        assert result.exit_code == 2, (how, result.output)
        expected = "cannot reach the dask scheduler at" if "tcp" in address else "cannot read the dask scheduler address"
        assert result.stderr.startswith(f"error: {expected}"), (how, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (how, result.stderr)


def test_help_imports_neither_dask_nor_torch():
    code = (
        "import sys, rsastats.cli\n"
        "from click.testing import CliRunner\n"
        "assert CliRunner().invoke(rsastats.cli.cli, ['--help']).exit_code == 0\n"
        "for name in rsastats.cli.SUBCOMMANDS:\n"
        "    assert CliRunner().invoke(rsastats.cli.cli, [name, '--help']).exit_code == 0\n"
        "bad = [m for m in ('dask', 'distributed', 'torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
