import json

import pytest

from quartet.cli import main


def test_run_writes_summary_and_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["parity", "run", "--n", "8", "--k", "2", "--cot", "official", "--layers", "1", "--heads", "1",
               "--width", "32", "--seed", "0", "--budget", "12800", "--eval-every", "640", "--lr", "3e-3",
               "--batch-size", "64", "--n-val", "64", "--out", str(out)])
    assert rc in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solved"] is True and isinstance(summary["samples_to_solve"], int)
    assert summary["final_exact_match"] == 1.0
    # free-running greedy decoding of the solved model gets every chain and answer right too
    assert summary["final_greedy_exact_match"] == 1.0 and summary["final_greedy_answer_acc"] == 1.0
    assert len(summary["official_min_entropy"]) == 1 and len(summary["label_row_entropy"][0]) == 1
    assert summary["interpretability"] is not None
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["samples"] == summary["samples_to_solve"]
    assert (out / "config.json").exists() and (out / "figures" / "training.png").exists()


def test_run_censored_without_cot(tmp_path):
    out = tmp_path / "run"
    main(["parity", "run", "--n", "10", "--k", "4", "--cot", "none", "--layers", "1", "--heads", "1",
          "--width", "32", "--budget", "1280", "--eval-every", "640", "--batch-size", "64", "--out", str(out)])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solved"] is False and summary["samples_to_solve"] is None
    assert summary["interpretability"] is None


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--cot", "long"], "layout='long'"),
        (["--k", "0"], "k=0"),
        (["--n", "4", "--k", "2", "--n-val", "16"], "n_val=16"),
        (["--secret", "1,x"], "secret='1,x'"),
        (["--secret", "1,2,3", "--k", "2"], "secret=[1, 2, 3]"),
        (["--preset", "gpu"], "preset='gpu'"),
        (["--heads", "3"], "n_head=3"),
    ],
)
def test_bad_run_arguments_give_one_line_and_exit_2(args, needle, tmp_path, capsys):
    rc = main(["parity", "run", "--budget", "256", "--out", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0]


def test_unknown_experiment(capsys):
    assert main(["parity", "experiment", "fig99"]) == 2
    assert "experiment='fig99'" in capsys.readouterr().err


def test_llm_sparsity_command_on_a_tiny_model(tiny_lm, tmp_path):
    from quartet.common.data import DatasetUnavailable, load_gsm8k

    try:
        load_gsm8k()
    except DatasetUnavailable as exc:
        pytest.skip(f"no GSM8K source: {exc}")
    _, _, folder = tiny_lm
    out = tmp_path / "llm"
    rc = main(["parity", "llm-sparsity", "--model", str(folder), "--n-problems", "2", "--sorted-heads",
               "--out", str(out)])
    assert rc in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_problems"] == 2 and {s["statistic"] for s in summary["statistics"]} == {
        "min", "mean", "min_matched", "min_last_m"}
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert (out / "figures" / "llm_sparsity.png").exists() and (out / "figures" / "llm_sparsity_sorted.png").exists()
    assert main(["parity", "llm-sparsity", "--model", str(folder), "--row-set", "nope", "--out", str(out)]) == 2


def test_experiment_command_writes_figures_and_table(tmp_path, monkeypatch):
    from quartet.cot_parity import experiments as ex

    tiny = ex.AttentionConfig(n=8, k=2, seeds=(0,), budget=6_400, preset="tiny")
    monkeypatch.setattr(ex, "presets", lambda quick, seed=0: {"attention": tiny})
    out = tmp_path / "exp"
    assert main(["parity", "experiment", "attention", "--quick", "--out", str(out)]) in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["experiment"] == "attention" and summary["table"][0]["verdict"]
    assert (out / "figures" / "attention.png").exists() and (out / "result.json").exists()
