"""TilingSpace: size formula, indexing, sampling, neighbourhood, features, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from quartet.gemm_tuning.space import (
    TilingSpace, composition_rank, composition_unrank, compositions, config_from_str, config_to_str,
)

powers = st.sampled_from([1, 2, 4, 8, 16, 32])
small_levels = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


@pytest.mark.parametrize(
    "shape, levels, size",
    [((512, 512, 512), (2, 1, 2), 100), ((64, 64, 64), (3, 2, 3), 5488), ((128, 128, 128), (3, 2, 3), 10368),
     ((256, 256, 256), (3, 2, 3), 18225), ((512, 512, 512), (3, 2, 3), 30250), ((1024, 1024, 1024), (3, 2, 3), 47916),
     ((512, 512, 512), (4, 2, 4), 484000), ((1024, 1024, 1024), (4, 2, 4), 899756),
     ((4096, 4096, 4096), (4, 2, 4), 2691325), ((1024, 512, 1024), (4, 3, 4), 4152720)],
)
def test_size_matches_reference_table(shape, levels, size):
    M, N, K = shape
    assert TilingSpace(M, N, K, levels).size == size


@given(M=powers, N=powers, K=powers, levels=small_levels)
@settings(max_examples=40, deadline=None)
def test_size_formula_matches_enumeration_and_rank_roundtrip(M, N, K, levels):
    space = TilingSpace(M, N, K, levels)
    configs = list(space)
    assert len(configs) == space.size == len(set(configs))
    for index, config in enumerate(configs):
        assert space.is_valid(config)
        assert space.rank(config) == index
        assert space.unrank(index) == config
    fm, fk, fn = space.factors(configs[-1])
    assert math.prod(fm) == M and math.prod(fk) == K and math.prod(fn) == N


@given(total=st.integers(0, 9), parts=st.integers(1, 4))
def test_composition_rank_unrank(total, parts):
    for index, comp in enumerate(compositions(total, parts)):
        assert composition_rank(comp) == index
        assert composition_unrank(index, total, parts) == comp


@given(M=powers, N=powers, K=powers, levels=small_levels, seed=st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_neighbours_stay_valid_keep_products_and_are_one_move_away(M, N, K, levels, seed):
    space = TilingSpace(M, N, K, levels)
    config = space.sample(np.random.default_rng(seed))
    neighbours = space.neighbours(config)
    assert len(neighbours) <= sum(d * (d - 1) for d in levels)
    assert len(set(neighbours)) == len(neighbours)
    for nb in neighbours:
        assert space.is_valid(nb)
        assert space.distance(config, nb) == 1
        assert [math.prod(f) for f in space.factors(nb)] == [M, K, N]
    for action in space.actions:  # an invalid move is a no-op, a valid one changes the config
        moved = space.step(config, action)
        assert (moved != config) == space.is_action_valid(config, action)


@pytest.mark.parametrize("levels, most", [((3, 2, 3), 14), ((4, 2, 4), 26), ((4, 3, 4), 30)])
def test_neighbour_maximum(levels, most):
    space = TilingSpace(1024, 1024, 1024, levels)
    assert space.n_actions == most
    rng = np.random.default_rng(0)
    assert max(len(space.neighbours(space.sample(rng))) for _ in range(200)) == most


def test_sampler_is_uniform_chi_square():
    space = TilingSpace(4, 4, 2, (2, 2, 2))  # 3 * 2 * 3 = 18 configurations
    rng = np.random.default_rng(0)
    counts = np.zeros(space.size)
    for _ in range(9000):
        counts[space.rank(space.sample(rng))] += 1
    assert stats.chisquare(counts).pvalue > 0.001


def test_outer_config_encodings_and_string_roundtrip():
    space = TilingSpace(512, 256, 1024)
    outer = space.outer_config()
    assert space.factors(outer) == ((512, 1, 1), (1024, 1), (256, 1, 1))
    np.testing.assert_allclose(space.encode(outer, "linear"), [0.5, -0.5 + 1 / 512, -0.5 + 1 / 512,
                                                               0.5, -0.5 + 1 / 1024, 0.5, -0.5 + 1 / 256,
                                                               -0.5 + 1 / 256])
    np.testing.assert_allclose(space.encode(outer, "log2"), [0.5, -0.5, -0.5, 0.5, -0.5, 0.5, -0.5, -0.5])
    assert space.encode(outer, "knob").tolist() == [9, 0, 0, 10, 0, 8, 0, 0]
    assert config_from_str(config_to_str(outer)) == outer
    assert space.from_factors((8, 8, 8), (32, 32), (4, 4, 16)) == ((3, 3, 3), (5, 5), (2, 2, 4))


@pytest.mark.parametrize("kwargs, match", [
    (dict(M=100, N=64, K=64), "M=100"), (dict(M=64, N=0, K=64), "N=0"), (dict(M=64, N=64, K=48), "K=48"),
    (dict(M=64, N=64, K=64, levels=(3, 0, 3)), "levels"), (dict(M=64, N=64, K=64, levels=(3, 3)), "levels"),
])
def test_bad_shapes_and_levels_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TilingSpace(**kwargs)


def test_invalid_configs_raise():
    space = TilingSpace(64, 64, 64)
    with pytest.raises(ValueError, match="config"):
        space.validate(((6, 0, 0), (6, 0, 0), (6, 0, 0)))  # wrong length for k
    with pytest.raises(ValueError, match="config"):
        space.validate(((5, 0, 0), (6, 0), (6, 0, 0)))  # product != M
    with pytest.raises(ValueError, match="index"):
        space.unrank(space.size)
    with pytest.raises(ValueError, match="encoding"):
        space.encode(space.outer_config(), "onehot")
