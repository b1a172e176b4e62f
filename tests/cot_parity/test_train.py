import pytest
import torch

from quartet.cot_parity.data import ParityTask
from quartet.cot_parity.model import GPTConfig
from quartet.cot_parity.train import TrainConfig, train

torch.set_num_threads(1)

SMALL = dict(lr=3e-3, batch_size=64, n_val=64, eval_every=640, budget_samples=12_800)


def _run(layout, seed=0, **overrides):
    task = ParityTask.from_seed(8, 2, layout, seed)
    cfg = TrainConfig(**{**SMALL, "data_seed": seed, "model_seed": seed, **overrides})
    return task, train(task, GPTConfig(n_layer=1, n_head=1, n_embd=32, block_size=task.seq_len), cfg)


def test_cot_learns_k2_and_no_cot_does_not_in_the_same_budget():
    task, cot = _run("official")
    assert cot.status == "solved" and cot.solved
    assert cot.samples_to_solve <= 6_400 and cot.final_exact_match == 1.0
    # sample complexity = samples at the first evaluation with 100 % exact match
    first = next(h for h in cot.history if h.exact_match >= 1.0)
    assert first.samples == cot.samples_to_solve == cot.history[-1].samples  # stop_on_success
    assert all(h.samples % 640 == 0 for h in cot.history)
    # the CoT query rows mostly attend to their secret bits once solved (chance: about 1 in 10 keys)
    assert cot.history[-1].interpretability[0][0] >= 0.5 > cot.history[0].interpretability[0][0]
    _, plain = _run("none")
    assert plain.status == "budget" and plain.samples_to_solve is None
    assert plain.samples_seen == 12_800 and plain.final_exact_match < 0.9
    assert plain.history[-1].interpretability is None
    s = plain.summary()
    assert s["solved"] is False and s["samples_to_solve"] is None and "official_min_entropy" in s


def test_final_greedy_eval_matches_teacher_forcing_and_is_off_by_default():
    # a half-trained model, so that some chains are wrong and the comparison is not vacuous
    _, r = _run("official", budget_samples=1_280, stop_on_success=False, final_greedy_eval=True)
    assert 0.0 < r.final_exact_match < 1.0
    # all supervised tokens right under teacher forcing <=> the free-running chain and answer are right
    assert r.final_greedy_exact_match == pytest.approx(r.final_exact_match)
    # a right chain implies a right answer; the answer alone can also be right by chance
    assert r.final_greedy_exact_match <= r.final_greedy_answer_acc <= 1.0
    s = r.summary()
    assert s["final_greedy_answer_acc"] == r.final_greedy_answer_acc
    _, plain = _run("none", budget_samples=640, final_greedy_eval=True)
    # with no chain the generated answer is the only generated token
    assert plain.final_greedy_answer_acc == pytest.approx(plain.final_exact_match)
    _, default = _run("official", budget_samples=640)
    assert default.final_greedy_answer_acc is None and default.summary()["final_greedy_exact_match"] is None


def test_training_is_deterministic_for_a_seed():
    _, a = _run("official", budget_samples=1_280, stop_on_success=False)
    _, b = _run("official", budget_samples=1_280, stop_on_success=False)
    assert [h.train_loss for h in a.history] == [h.train_loss for h in b.history]


def test_keep_training_after_success_records_the_first_hit():
    _, r = _run("official", budget_samples=6_400, stop_on_success=False)
    assert r.samples_seen == 6_400 and r.solved
    assert r.samples_to_solve == min(h.samples for h in r.history if h.exact_match >= 1.0)


def test_divergence_is_detected_and_reported():
    _, r = _run("official", lr=1e12, grad_clip=None, budget_samples=1_280)
    assert r.status == "diverged" and not r.solved and "non-finite" in r.message


def test_time_cap_stops_and_censors():
    _, r = _run("none", max_seconds=0.0)
    assert r.status == "time_limit" and r.samples_seen == 64 and r.samples_to_solve is None


def test_finite_training_set():
    _, r = _run("official", n_train=128, budget_samples=640)
    assert r.samples_seen == 640


@pytest.mark.parametrize(
    "kwargs,match",
    [({"lr": 0}, "lr=0"), ({"batch_size": 0}, "batch_size=0"), ({"schedule": "cosine"}, "schedule='cosine'"),
     ({"success_threshold": 1.5}, "success_threshold=1.5"), ({"n_train": 0}, "n_train=0"),
     ({"grad_clip": -1.0}, "grad_clip=-1.0"), ({"lr": float("nan")}, "lr=nan")],
)
def test_bad_train_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_block_size_must_fit_the_sequence():
    task = ParityTask.from_seed(8, 2, "official")
    with pytest.raises(ValueError, match="block_size=5"):
        train(task, GPTConfig(n_embd=16, n_head=1, block_size=5), TrainConfig(**SMALL))


def test_official_preset_trains_in_pure_bf16_with_fp32_metrics():
    from quartet.cot_parity.experiments import ParityRunConfig, run_parity

    rc = ParityRunConfig(preset="official").train_config()
    assert (rc.batch_size, rc.lr, rc.grad_clip, rc.schedule, rc.weight_decay) == (512, 6e-5, 1.0, "linear", 0.0)
    # a small batch keeps the 720-wide model affordable on a CPU
    cfg = ParityRunConfig(n=8, k=2, layers=1, heads=1, preset="official", budget=64, batch_size=32, eval_every=64,
                          n_val=16, seed=0)
    result = run_parity(cfg)
    assert result.samples_seen == 64 and len(result.history) == 1
    record = result.history[0]
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in record.official_min_entropy[0])
