import numpy as np
import pytest

from rsastats.rng import as_generator, seed_sequence, seed_to_int, spawn_generators, spawn_sequences
from rsastats.exceptions import ValidationError


def test_children_do_not_depend_on_how_many_are_asked_for():
    few = [g.standard_normal(3) for g in spawn_generators(42, 2)]
    many = [g.standard_normal(3) for g in spawn_generators(42, 10)]
    for a, b in zip(few, many):
        np.testing.assert_array_equal(a, b)


def test_children_are_repeatable_and_distinct():
    a = [g.integers(0, 2**32, 4) for g in spawn_generators(7, 3)]
    b = [g.integers(0, 2**32, 4) for g in spawn_generators(7, 3)]
    assert all((x == y).all() for x, y in zip(a, b))
    assert not (a[0] == a[1]).all()


def test_children_match_seedsequence_spawn():
    # The same streams numpy's own SeedSequence.spawn gives, so others can reproduce them.
    ours = spawn_sequences(5, 3)
    theirs = np.random.SeedSequence(5).spawn(3)
    for x, y in zip(ours, theirs):
        assert x.generate_state(4).tolist() == y.generate_state(4).tolist()


def test_generator_passes_through():
    g = np.random.default_rng(1)
    assert as_generator(g) is g


@pytest.mark.parametrize("bad", [-1, 1.5, "x", True])
def test_bad_seeds(bad):
    with pytest.raises(ValidationError):
        seed_sequence(bad)


def test_seed_to_int():
    assert seed_to_int(3) == 3 and seed_to_int(None) is None and seed_to_int(np.random.default_rng()) is None
