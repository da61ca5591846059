"""Bootstrap and permutation work on a dask LocalCluster equals the in-process run bit for bit, for 1
and 2 workers, any chunk size, files or in-memory inputs, threads or processes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from rsastats.cliutil import to_jsonable  # noqa: E402
from rsastats.data import write_dataset  # noqa: E402
from rsastats._rng import seed_sequence  # noqa: E402
from rsastats.inference.engine import DRAW_BLOCK  # noqa: E402
from rsastats.inference.engine_tasks import BootstrapJob, bootstrap_task, engine_spec  # noqa: E402
from rsastats.parallel import DaskRunner, LocalRunner, runner_for  # noqa: E402
from rsastats.exceptions import ConfigMismatchError, InputError  # noqa: E402
from rsastats.inference import bootstrap_rho, compare_all, compare_difference, compare_models, mantel  # noqa: E402
from rsastats.inference._inputs import RDMOptions, load_models  # noqa: E402
from rsastats.simulate import simulate_activations, true_vectors  # noqa: E402

E, P, L, H = 9, 6, 2, 24
FAST = {"n_boot": 200, "permutations": 2100, "n_splits": 4}


def _datasets(k=3):
    tv = true_vectors(E, H, seed=1)
    rng = np.random.default_rng(7)
    return [simulate_activations(E, P, L, H, noise=1.0, vectors=tv + 0.3 * rng.standard_normal(tv.shape), n_baseline=4,
                                 seed=i, attrs={"model": f"m{i}"}) for i in range(k)]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    return [str(write_dataset(ds, tmp / f"m{i}.nc")) for i, ds in enumerate(_datasets())]


def _cluster(n_workers, processes=False):
    return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                                    dashboard_address=":0", silence_logs=50)


@pytest.fixture(scope="module")
def client2():
    with _cluster(2) as cluster, distributed.Client(cluster, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def client1():
    with _cluster(1) as cluster, distributed.Client(cluster, set_as_default=False) as client:
        yield client


def _same_all(a, b):
    assert np.array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    assert a.pairs.equals(b.pairs)
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("which", ["client1", "client2"])
def test_matrix_bit_identical_for_one_and_two_workers(paths, which, request):
    client = request.getfixturevalue(which)
    ref = compare_all(paths, seed=3, **FAST)
    got = compare_all(paths, seed=3, scheduler=client, **FAST)
    _same_all(got, ref)


@pytest.mark.parametrize("scheme", ["emotions", "prompts", "both"])
def test_compare_bit_identical(paths, client2, scheme):
    ref = compare_models(paths[0], paths[1], bootstrap=scheme, seed=11, **FAST)
    got = compare_models(paths[0], paths[1], bootstrap=scheme, seed=11, scheduler=client2, **FAST)
    assert np.array_equal(got.bootstrap_distribution, ref.bootstrap_distribution)
    assert got.to_dict() == ref.to_dict()


def test_chunking_does_not_change_results(paths, client2):
    ref = compare_all(paths, seed=5, **FAST)
    for chunk, tasks in ((1, 1), (64, 3), (130, 7), (10_000, 50)):
        runner = DaskRunner(client2, chunk=chunk, parallelism=tasks)
        _same_all(compare_all(paths, seed=5, scheduler=runner, **FAST), ref)


def test_mantel_distribution_and_exact_enumeration(paths, client2):
    ref = mantel(paths[0], paths[2], permutations=3000, seed=4)
    got = mantel(paths[0], paths[2], permutations=3000, seed=4, scheduler=DaskRunner(client2, parallelism=3))
    assert np.array_equal(got.permutation_distribution, ref.permutation_distribution) and got.p_value == ref.p_value
    small = [np.asarray(m.rdm.matrix)[:6, :6] for m in load_models(paths[:2])]
    exact_ref = mantel(small[0], small[1], permutations=800)
    exact = mantel(small[0], small[1], permutations=800, scheduler=client2)
    assert exact.permutation_exact and np.array_equal(exact.permutation_distribution, exact_ref.permutation_distribution)


def test_in_memory_inputs_and_generator_seed(client2):
    data = _datasets()
    ref = bootstrap_rho(data[0], data[1], n_boot=150, seed=np.random.default_rng(9))
    got = bootstrap_rho(data[0], data[1], n_boot=150, seed=np.random.default_rng(9), scheduler=client2)
    assert np.array_equal(got.bootstrap_distribution, ref.bootstrap_distribution)
    d_ref = compare_difference(*data, n_boot=150, seed=2)
    d_got = compare_difference(*data, n_boot=150, seed=2, scheduler=client2)
    assert d_got.to_dict() == d_ref.to_dict()


def test_processes_cluster_bit_identical(paths):
    ref = compare_all(paths, seed=8, **FAST)
    with _cluster(2, processes=True) as cluster, distributed.Client(cluster, set_as_default=False) as client:
        got = compare_all(paths, seed=8, scheduler=client, **FAST)
    _same_all(got, ref)


def test_worker_refuses_other_data_and_missing_files(paths, client2):
    models = load_models(paths[:2])
    spec = engine_spec(paths[:2], models, RDMOptions().checked(), rank="spearman", scheme="prompts", rdm_method="cosine")
    shifted = spec.__class__(**{**spec.__dict__, "token": "other-data", "fixed": spec.fixed + 0.01})
    pairs = np.array([[0, 1]])
    with pytest.raises(ConfigMismatchError, match="other data than the client"):
        DaskRunner(client2).map_ranges(bootstrap_task, 64, BootstrapJob(shifted, pairs, seed_sequence(0), 256),
                                       align=DRAW_BLOCK)
    gone = spec.__class__(**{**spec.__dict__, "token": "missing", "paths": ("/nonexistent/a.nc", paths[1])})
    with pytest.raises(InputError, match="same path on every worker"):
        DaskRunner(client2).map_ranges(bootstrap_task, 64, BootstrapJob(gone, pairs, seed_sequence(0), 256),
                                       align=DRAW_BLOCK)


def test_unreachable_scheduler_is_one_line_input_error():
    with pytest.raises(InputError, match="cannot reach the dask scheduler at tcp://127.0.0.1:1"):
        with runner_for("tcp://127.0.0.1:1"):
            pass
    with pytest.raises(InputError, match="cannot read the dask scheduler address"):
        with runner_for("no-port-here"):
            pass


def test_in_process_run_does_not_import_distributed(paths):
    # (xarray may import dask itself; dask.distributed is ours to import, and only with a scheduler.)
    code = ("import sys, warnings\nwarnings.simplefilter('ignore')\nfrom rsastats.inference import compare_models\n"
            f"compare_models({paths[0]!r}, {paths[1]!r}, n_boot=20, permutations=99, n_splits=2)\n"
            "assert 'distributed' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_decomposition_bootstrap_bit_identical(client2):
    from rsastats.simulate import simulate_condition_rdms
    from rsastats.variance import decompose_rdms

    conds = []
    for model in ("m1", "m2", "m3"):
        conds += [dict(model=model, method="comprehension", precision="fp32", experiment="A") for _ in range(2)]
        conds.append(dict(model=model, method="comprehension", precision="int8-token", experiment="A"))
    rdms = simulate_condition_rdms(conds, {"shared": 1.0, "model": 0.4, "precision": 0.2}, 9, residual=0.3, seed=2)
    options = dict(components=["model", "precision"], n_boot=40, ci_method="percentile", test=False)
    ref = decompose_rdms(rdms, [f"e{i}" for i in range(9)], conds, seed=np.random.default_rng(3), **options)
    for runner in (client2, DaskRunner(client2, chunk=7)):
        got = decompose_rdms(rdms, [f"e{i}" for i in range(9)], conds, seed=np.random.default_rng(3), scheduler=runner,
                             **options)
        assert np.array_equal(got.bootstrap_shares, ref.bootstrap_shares, equal_nan=True)
        # (NaN-safe comparison: p-values are NaN without tests)
        assert json.dumps(to_jsonable(got.to_dict())) == json.dumps(to_jsonable(ref.to_dict()))


def test_local_runner_has_the_dask_runners_methods():
    local = LocalRunner()
    assert local.map_ranges(lambda shared, lo, hi, progress: (shared, lo, hi), 10, "x") == [("x", 0, 10)]
    assert local.map(lambda shared, a, b: shared + a + b, 1, [(2, 3), (4, 5)]) == [6, 10]
    calls, retried = [], []

    def flaky(x):
        calls.append(x)
        if x == "bad-input":
            raise InputError("never retried")
        if len(calls) == 2:
            raise RuntimeError("transient")
        return x

    out = list(local.each(flaky, [("a",), ("b",), ("bad-input",)], retries=1, on_retry=retried.append))
    assert [(i, r) for i, r, e in out] == [(0, "a"), (1, "b"), (2, None)] and isinstance(out[2][2], InputError)
    assert retried == [1] and calls == ["a", "b", "b", "bad-input"]
    assert local.parallelism == 1 and local.address == ""
    for public in (DaskRunner, LocalRunner):
        assert {"map_ranges", "map", "each", "broadcast"} <= set(dir(public))
