import numpy as np
import pytest
import torch

from quartet.cot_parity.llm_attention import (
    ROW_SETS,
    TextPair,
    answer_start,
    final_answer,
    load_causal_lm,
    measure_sparsity,
    pair_statistics,
    problem_texts,
    select_rows,
    text_entropies,
)

torch.set_num_threads(1)


def test_final_answer_keeps_sign_and_thousands(gsm8k_problems):
    assert final_answer(gsm8k_problems[0]["answer"]) == "72"
    assert final_answer(gsm8k_problems[1]["answer"]) == "2125"
    assert final_answer(gsm8k_problems[2]["answer"]) == "-10"
    # the official regex's known defects, reproducible on request
    assert final_answer(gsm8k_problems[1]["answer"], official_regex=True) == "125"
    assert final_answer(gsm8k_problems[2]["answer"], official_regex=True) == "10"
    with pytest.raises(ValueError, match="answer="):
        final_answer("no final answer here")


def test_problem_texts_are_the_papers(gsm8k_problems):
    texts = problem_texts(gsm8k_problems[1])
    assert texts["cot"].text == gsm8k_problems[1]["question"] + " " + gsm8k_problems[1]["answer"]
    assert texts["nocot"].text == gsm8k_problems[1]["question"] + " The answer is 2125."
    assert texts["nocot"].prefix == gsm8k_problems[1]["question"]


def test_answer_start_by_offsets(tiny_lm, gsm8k_problems):
    tokenizer, _, _ = tiny_lm
    pair = problem_texts(gsm8k_problems[0])["nocot"]
    enc = tokenizer(pair.text, return_offsets_mapping=True)
    q = answer_start(enc["offset_mapping"], len(pair.prefix))
    assert tokenizer.decode(enc["input_ids"][q:]) == " The answer is 72."
    assert tokenizer.decode(enc["input_ids"][:q]) == pair.prefix
    # a special token (empty span) counts as prompt
    assert answer_start([(0, 0), (0, 3), (3, 7), (7, 9)], 3) == 2
    # a token merged across the boundary starts the answer
    assert answer_start([(0, 3), (3, 8), (8, 9)], 5) == 1
    with pytest.raises(ValueError, match="prefix_chars=20"):
        answer_start([(0, 3), (3, 8)], 20)


def test_row_sets():
    assert select_rows("answer", 5, 9).tolist() == [5, 6, 7, 8]
    assert select_rows("answer_official_offset", 5, 9).tolist() == [6, 7, 8]
    assert select_rows("predicting_answer", 5, 9).tolist() == [4, 5, 6, 7]
    assert select_rows("all", 5, 9).tolist() == list(range(1, 9))
    with pytest.raises(ValueError, match="row_set='question'"):
        select_rows("question", 5, 9)


def test_pair_statistics_by_hand():
    # one layer, one head; CoT rows have entropies 0.9, 0.1, 0.5, 0.3; no-CoT rows 0.4, 0.6
    ne_cot = np.array([[[np.nan, 0.9, 0.1, 0.5, 0.3]]])
    ne_nocot = np.array([[[np.nan, 0.4, 0.6]]])
    stats = pair_statistics(ne_cot, np.arange(1, 5), ne_nocot, np.arange(1, 3), np.random.default_rng(0), 500)
    assert stats["min"][0].item() == pytest.approx(0.1) and stats["min"][1].item() == pytest.approx(0.4)
    assert stats["mean"][0].item() == pytest.approx(0.45) and stats["mean"][1].item() == pytest.approx(0.5)
    assert stats["min_last_m"][0].item() == pytest.approx(0.3)
    # E[min of a random pair of {0.9, 0.1, 0.5, 0.3}] = (0.1*3 + 0.3*2 + 0.5*1) / 6
    assert stats["min_matched"][0].item() == pytest.approx(1.4 / 6, abs=0.02)
    assert stats["min_matched"][1].item() == pytest.approx(0.4)


def test_text_entropies_shape_and_range(tiny_lm, gsm8k_problems):
    tokenizer, model, _ = tiny_lm
    ne, q = text_entropies(model, tokenizer, problem_texts(gsm8k_problems[0])["cot"])
    T = len(tokenizer(problem_texts(gsm8k_problems[0])["cot"].text)["input_ids"])
    assert ne.shape == (2, 4, T) and 0 < q < T
    assert np.isnan(ne[..., 0]).all()
    assert ((ne[..., 1:] >= -1e-9) & (ne[..., 1:] <= 1 + 1e-9)).all()


def test_measure_sparsity_pipeline(tiny_lm, gsm8k_problems):
    tokenizer, model, _ = tiny_lm
    seen = []
    res = measure_sparsity(model, tokenizer, gsm8k_problems, seed=3, on_problem=lambda i, rec: seen.append(i))
    assert seen == [0, 1, 2] and res.n_problems == 3
    for stat in ("min", "mean", "min_matched", "min_last_m"):
        assert np.array(res.cot[stat]).shape == (2, 4) and np.array(res.nocot[stat]).shape == (2, 4)
    cot = {s: np.array(v) for s, v in res.cot.items()}
    # min over all rows <= min over any subset of them <= ... and min <= mean
    assert (cot["min"] <= cot["min_matched"] + 1e-12).all() and (cot["min"] <= cot["min_last_m"] + 1e-12).all()
    assert (cot["min"] <= cot["mean"]).all()
    assert np.array_equal(res.nocot["min"], res.nocot["min_matched"])
    assert res.mean_rows["cot"] > res.mean_rows["nocot"]
    # the length-matched statistic is seeded
    again = measure_sparsity(model, tokenizer, gsm8k_problems, seed=3)
    assert again.cot == res.cot
    assert len(res.table()) == 4


@pytest.mark.parametrize("row_set", ROW_SETS)
def test_every_row_set_runs(tiny_lm, row_set, gsm8k_problems):
    tokenizer, model, _ = tiny_lm
    res = measure_sparsity(model, tokenizer, gsm8k_problems[:1], row_set=row_set)
    assert res.row_set == row_set and np.isfinite(np.array(res.cot["min"])).all()


def test_load_local_folder_offline_with_eager_attention(tiny_lm):
    _, model, folder = tiny_lm
    tok, loaded = load_causal_lm(folder)
    assert loaded.config._attn_implementation == "eager"
    ids = tok("How many clips", return_tensors="pt")
    out = loaded(**ids, output_attentions=True)
    torch.testing.assert_close(out.logits, model(**ids).logits)
    assert out.attentions[0].shape[1] == 4


def test_bad_arguments(tiny_lm, gsm8k_problems):
    tokenizer, model, _ = tiny_lm
    with pytest.raises(ValueError, match="row_set='x'"):
        measure_sparsity(model, tokenizer, gsm8k_problems, row_set="x")
    with pytest.raises(ValueError, match="draws=0"):
        measure_sparsity(model, tokenizer, gsm8k_problems, draws=0)
    with pytest.raises(ValueError, match="problems"):
        measure_sparsity(model, tokenizer, [])
    with pytest.raises(ValueError, match="chat_template"):
        problem_texts(gsm8k_problems[0], tokenizer=tokenizer, chat_template=True)
    with pytest.raises(ValueError, match="model="):
        load_causal_lm("/nonexistent/model.gguf")


def test_text_pair():
    assert TextPair("a", " b").text == "a b"


# ------------------------------------------------------------------------------------- real data
def test_gsm8k_file_facts():
    from quartet.common.data import DatasetUnavailable, load_gsm8k, shared_data_dir

    shared = shared_data_dir()
    if shared is None or not (shared / "gsm8k_test.parquet").exists():
        pytest.skip("GSM8K test parquet is absent from the shared data folder")
    try:
        rows = load_gsm8k(str(shared / "gsm8k_test.parquet"))
    except DatasetUnavailable as exc:  # pragma: no cover - depends on the machine
        pytest.skip(str(exc))
    assert len(rows) == 1319
    finals = [final_answer(r["answer"]) for r in rows]
    assert sum(not f.isdigit() for f in finals) == 2  # the two negatives
    assert sum(final_answer(r["answer"], official_regex=True) != f for r, f in zip(rows, finals)) == 16


def test_smollm2_real_path():
    """CI runs this on the real SmolLM2-135M-Instruct GGUF (converted once into the cache)."""
    from quartet.common.data import DatasetUnavailable, smollm2_gguf_path

    try:
        smollm2_gguf_path()
    except DatasetUnavailable as exc:
        pytest.skip(f"SmolLM2 GGUF package is absent: {exc}")
    tokenizer, model = load_causal_lm()
    assert type(model).__name__ == "LlamaForCausalLM"
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hidden_size,
            cfg.intermediate_size, cfg.vocab_size) == (30, 9, 3, 576, 1536, 49152)
    short = [{"question": "Tom has 3 apples and buys 4 more. How many apples does he have?",
              "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
             {"question": "A box holds 12 pens. How many pens are in 2 boxes?",
              "answer": "12 * 2 = <<12*2=24>>24\n#### 24"}]
    ne, q = text_entropies(model, tokenizer, problem_texts(short[0])["cot"])
    assert ne.shape[:2] == (30, 9) and 0 < q < ne.shape[-1]
    res = measure_sparsity(model, tokenizer, short, model_name="smollm2-135m")
    assert np.array(res.cot["min"]).shape == (30, 9)
    assert 0.0 <= np.mean(res.cot["min"]) <= np.mean(res.cot["mean"]) <= 1.0
