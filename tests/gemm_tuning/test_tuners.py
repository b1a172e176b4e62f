"""Every tuner on analytic landscapes: contract, budget, determinism, search quality, N-A2C maths."""

import numpy as np
import pytest

from quartet.gemm_tuning.baselines import GATuner, GridSearchTuner, RandomTuner
from quartet.gemm_tuning.gbfs import GBFSTuner
from quartet.gemm_tuning.measure import AnalyticMeasurer, MeasureResult
from quartet.gemm_tuning.na2c import ActorCritic, NA2CTuner, a2c_loss_and_grads
from quartet.gemm_tuning.rnn import RNNTuner
from quartet.gemm_tuning.space import TilingSpace
from quartet.gemm_tuning.tuner import RANDOM_STARTS, tune
from quartet.gemm_tuning.xgb import XGBTuner, average_recall, recall_curve

SPACE = TilingSpace(256, 256, 256)  # 18,225 configurations

FACTORIES = {
    "gbfs": lambda space, seed: GBFSTuner(space, seed=seed),
    "na2c": lambda space, seed: NA2CTuner(space, seed=seed),
    "random": lambda space, seed: RandomTuner(space, seed=seed),
    "grid": lambda space, seed: GridSearchTuner(space, seed=seed),
    "ga": lambda space, seed: GATuner(space, pop_size=20, seed=seed),
    "xgb": lambda space, seed: XGBTuner(space, plan_size=16, sa_iters=100, seed=seed),
    "rnn": lambda space, seed: RNNTuner(space, seed=seed),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_budget_accounting_and_determinism(name):
    runs = []
    for _ in range(2):
        measurer = AnalyticMeasurer(SPACE, seed=3, ruggedness=0.3)
        result = tune(FACTORIES[name](SPACE, 7), measurer, 40)
        assert result.trials == 40 and len(result.history) == 40
        assert result.distinct_measured == measurer.n_measured <= 40
        assert result.fraction_explored == pytest.approx(result.distinct_measured / SPACE.size)
        assert result.best_time_s == min(h.time_s for h in result.history)
        curve = result.best_curve()
        assert np.all(np.diff(curve) <= 0)
        runs.append([h.config for h in result.history])
    assert runs[0] == runs[1], "same seed must give the same trajectory"


@pytest.mark.parametrize("name", ["gbfs", "na2c", "random", "grid", "xgb", "rnn"])
def test_no_configuration_is_measured_twice(name):
    result = tune(FACTORIES[name](SPACE, 1), AnalyticMeasurer(SPACE, seed=1), 60)
    configs = [h.config for h in result.history]
    assert len(set(configs)) == len(configs)


def test_gbfs_finds_the_optimum_of_a_unimodal_landscape():
    for seed in range(3):
        measurer = AnalyticMeasurer(SPACE, seed=seed)  # ruggedness 0: every non-optimum has a better neighbour
        result = tune(GBFSTuner(SPACE, rho=14, seed=seed), measurer, 600)
        assert result.best_config == measurer.optimum
        assert result.fraction_explored < 0.04


def test_gbfs_rho_as_fraction_and_queue_empty_stop():
    tiny = TilingSpace(4, 4, 4, (2, 1, 2))  # 3 * 1 * 3 = 9 configurations
    result = tune(GBFSTuner(tiny, rho=0.5, seed=0), AnalyticMeasurer(tiny, seed=0), 100)
    # the whole connected space is reached, then the run ends cleanly
    assert result.distinct_measured == tiny.size
    assert result.stop_reason == "space_exhausted"
    space = TilingSpace(64, 64, 64, (2, 1, 2))
    result = tune(GBFSTuner(space, rho=1, seed=0), AnalyticMeasurer(space, seed=0, ruggedness=1.0), 1000)
    assert result.stop_reason == "queue_empty" and result.distinct_measured < space.size
    with pytest.raises(ValueError, match="rho"):
        GBFSTuner(tiny, rho=1.5)
    with pytest.raises(ValueError, match="rho"):
        GBFSTuner(tiny, rho=0)


def test_gbfs_continues_when_an_expansion_yields_no_new_child():
    # NNI stops ("no candidates") when a popped state's sampled children were all seen; G-BFS must go on.
    space = TilingSpace(16, 16, 16, (2, 1, 2))
    tuner = GBFSTuner(space, rho=2, seed=0)
    result = tune(tuner, AnalyticMeasurer(space, seed=2, ruggedness=1.0), space.size)
    assert tuner.n_empty_expansions > 0
    assert result.distinct_measured > tuner.proposed_at_first_empty
    restarted = tune(GBFSTuner(space, rho=1, restart="random", seed=0),
                     AnalyticMeasurer(space, seed=2, ruggedness=1.0), space.size)
    assert restarted.distinct_measured == space.size


def _median_ratio(name, seeds, budget, ruggedness=0.5, space=SPACE):
    ratios = []
    for seed in seeds:
        measurer = AnalyticMeasurer(space, seed=100 + seed, ruggedness=ruggedness)
        result = tune(FACTORIES[name](space, seed), measurer, budget)
        # small spaces: exact optimum by enumeration (ruggedness may move it off the hidden target)
        optimum = (min(measurer.true_time(c) for c in space) if space.size < 6000
                   else measurer.true_time(measurer.optimum))
        ratios.append(result.best_time_s / optimum)
    return float(np.median(ratios))


@pytest.mark.parametrize("name", ["gbfs", "na2c", "xgb"])
def test_guided_tuners_beat_random_on_average(name):
    seeds = range(5)
    assert _median_ratio(name, seeds, 120) < _median_ratio("random", seeds, 120)


def test_rnn_controller_beats_random_on_average():
    space = TilingSpace(64, 64, 64)  # 5,488 configurations, exact optimum by enumeration
    seeds = range(3)
    assert _median_ratio("rnn", seeds, 100, space=space) < _median_ratio("random", seeds, 100, space=space)


def test_failed_configurations_are_recorded_and_skipped():
    def failing(config):
        return config[2][-1] >= 4  # e.g. an innermost n tile the build rejects

    measurer = AnalyticMeasurer(SPACE, seed=0, failing=failing)
    result = tune(RandomTuner(SPACE, seed=0), measurer, 80)
    failed = [h for h in result.history if h.error]
    assert result.failed_trials == len(failed) > 0
    assert all(h.gflops == 0.0 and h.time_s == np.inf for h in failed)
    assert failing(result.best_config) is False
    tuned = tune(GBFSTuner(SPACE, seed=0), AnalyticMeasurer(SPACE, seed=0, failing=failing), 80)
    assert tuned.trials == 80 and not failing(tuned.best_config)


def test_ga_generations_and_elites():
    space = TilingSpace(64, 64, 64)
    tuner = GATuner(space, pop_size=10, elite_num=3, seed=0)
    measurer = AnalyticMeasurer(space, seed=0)
    first = tuner.next_batch(10)
    assert len(set(first)) == 10
    tuner.update(first, measurer.measure_batch(first))
    best3 = sorted(first, key=lambda c: measurer.true_time(c))[:3]
    assert {tuner.gene_to_config(g) for g in tuner.elites} == set(best3)
    assert len(tuner.next_batch(10)) == 10


def test_xgb_first_plan_is_random_then_model_plans():
    tuner = XGBTuner(SPACE, plan_size=16, sa_iters=50, seed=0)
    measurer = AnalyticMeasurer(SPACE, seed=0)
    batch = tuner.next_batch(16)
    assert tuner.train_ct == 0 and tuner.model.booster is None
    tuner.update(batch, measurer.measure_batch(batch))
    assert tuner.train_ct == 1 and len(tuner.plan) == 16
    assert not set(tuner.plan) & tuner.visited


def test_recall_curve_matches_autotvm_definition():
    # AutoTVM: ret[i] = sum(ranks[:i] <= i) / (i + 1)
    ranks = np.array([0, 2, 1, 3])
    np.testing.assert_allclose(recall_curve(ranks), [0 / 1, 1 / 2, 2 / 3, 3 / 4])
    labels = np.array([1.0, 0.5, 0.2, 0.1])
    assert average_recall(labels, labels, 4) == pytest.approx(np.mean([0, 1 / 2, 2 / 3, 3 / 4]))


# ----- N-A2C maths -----------------------------------------------------------------------------------

def _net_and_batch(seed=0):
    rng = np.random.default_rng(seed)
    net = ActorCritic(8, 14, 16, rng)
    states, nexts = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    actions = rng.integers(14, size=5)
    rewards = rng.uniform(0.5, 2.0, size=5)
    return net, states, actions, rewards, nexts


@pytest.mark.parametrize("kwargs", [
    dict(), dict(gamma=0.9, entropy_coef=0.1, value_coef=0.5), dict(nni_compat=True),
    dict(mask=np.array([[j % 3 != 0 or j == a for j in range(14)] for a in [0, 3, 6, 9, 12]])),
])
def test_a2c_gradients_match_finite_differences(kwargs):
    net, states, actions, rewards, nexts = _net_and_batch()
    if "mask" in kwargs:
        actions = np.array([0, 3, 6, 9, 12])
    if kwargs.get("gamma"):
        # the bootstrap V(s') is a constant (stop-gradient): freeze it for the numerical derivative
        boot = kwargs["gamma"] * net.forward(nexts)[0]
        rewards, kwargs = rewards + boot, {k: v for k, v in kwargs.items() if k != "gamma"}
    _, grads = a2c_loss_and_grads(net, states, actions, rewards, nexts, **kwargs)
    if kwargs.get("nni_compat"):
        def loss():  # NNI's loss has no stop-gradient: differentiate it as it is
            return a2c_loss_and_grads(net, states, actions, rewards, nexts, **kwargs)[0]
    else:
        # the advantage in the policy term is a constant (stop-gradient): freeze it at the current weights
        frozen_adv = rewards - net.forward(states)[0]
        value_coef, entropy_coef = kwargs.get("value_coef", 1.0), kwargs.get("entropy_coef", 0.0)

        def loss():
            values, probs, _ = net.forward(states, kwargs.get("mask"))
            logp = np.log(np.where(probs > 0, probs, 1.0))
            entropy = -(probs * logp).sum(axis=1)
            adv = rewards - values
            log_pa = np.log(probs[np.arange(len(actions)), actions])
            return float(np.sum(-log_pa * frozen_adv + value_coef * adv**2 - entropy_coef * entropy))
    rng = np.random.default_rng(1)
    for name, param in net.params.items():
        for _ in range(4):
            idx = tuple(rng.integers(s) for s in param.shape)
            old = param[idx]
            param[idx] = old + 1e-6
            up = loss()
            param[idx] = old - 1e-6
            down = loss()
            param[idx] = old
            assert grads[name][idx] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-6), name


def test_corrected_sign_raises_probability_of_a_rewarded_action():
    from quartet.gemm_tuning.na2c import Adam

    for nni_compat, expect_rise in ((False, True), (True, False)):
        net, states, _, _, nexts = _net_and_batch(seed=3)
        state = states[:1]
        action = np.array([4])
        value = net.forward(state)[0][0]
        reward = np.array([value + 5.0])  # clearly better than expected: positive advantage
        before = net.forward(state)[1][0, 4]
        _, grads = a2c_loss_and_grads(net, state, action, reward, nexts[:1], nni_compat=nni_compat)
        Adam(lr=1e-2).step(net.params, grads)
        after = net.forward(state)[1][0, 4]
        assert (after > before) == expect_rise


def test_na2c_rounds_stay_near_the_incumbent_and_update():
    tuner = NA2CTuner(SPACE, init="outer", measure_init=False, seed=0)  # NNI's start: outer, not measured
    measurer = AnalyticMeasurer(SPACE, seed=0)
    batch = tuner.next_batch(6)
    assert len(batch) == 6
    assert all(SPACE.distance(SPACE.outer_config(), c) <= 3 for c in batch)
    tuner.update(batch, measurer.measure_batch(batch))
    assert tuner.n_rounds == 1 and tuner.incumbent == tuner.best_config
    nxt = tuner.next_batch(6)
    assert all(SPACE.distance(tuner.incumbent, c) <= 3 for c in nxt)
    assert not set(nxt) & set(batch)


def test_update_rejects_mismatched_results():
    tuner = RandomTuner(SPACE)
    with pytest.raises(ValueError, match="results"):
        tuner.update(tuner.next_batch(2), [MeasureResult(costs=(1.0,))])
    with pytest.raises(ValueError, match="n=0"):
        tuner.next_batch(0)


def test_default_start_is_the_best_of_measured_random_samples():
    measurer = AnalyticMeasurer(SPACE, seed=3, ruggedness=0.5)
    na2c = NA2CTuner(SPACE, seed=0)
    starts = na2c.next_batch(na2c.batch_size)
    assert len(starts) == RANDOM_STARTS == len(set(starts)) and SPACE.outer_config() not in starts
    na2c.update(starts, measurer.measure_batch(starts))
    assert na2c.n_rounds == 0  # start states are not rollout samples
    best = min(starts, key=lambda c: measurer.measure(c).time_s)
    assert na2c.incumbent == best
    assert all(SPACE.distance(best, c) <= 3 for c in na2c.next_batch(na2c.batch_size))
    gbfs = GBFSTuner(SPACE, rho=5, seed=0)
    starts = gbfs.next_batch(RANDOM_STARTS)
    gbfs.update(starts, measurer.measure_batch(starts))
    best = min(starts, key=lambda c: measurer.measure(c).time_s)
    assert all(SPACE.distance(best, c) == 1 for c in gbfs.next_batch(5))  # the best start is expanded first


def test_start_state_options_are_validated():
    assert GBFSTuner(SPACE, init="outer").next_batch(5) == [SPACE.outer_config()]
    assert len(GBFSTuner(SPACE, n_init=1).next_batch(5)) == 1
    with pytest.raises(ValueError, match="init='best'"):
        GBFSTuner(SPACE, init="best")
    with pytest.raises(ValueError, match="n_init=3"):
        GBFSTuner(SPACE, init="outer", n_init=3)
    with pytest.raises(ValueError, match="n_init=0"):
        NA2CTuner(SPACE, n_init=0)
    with pytest.raises(ValueError, match="measure_init=False"):
        NA2CTuner(SPACE, n_init=4, measure_init=False)
