"""Shared fixtures: a tiny random-weight causal LM with its tokenizer, built in-process (no downloads)."""

import pytest
import torch

PROBLEMS = [
    {"question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
                 "How many clips did Natalia sell altogether in April and May?",
     "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips "
               "altogether in April and May.\n#### 72"},
    {"question": "A store had 2,200 apples and sold 75 of them. How many apples are left?",
     "answer": "2,200 - 75 = <<2200-75=2125>>2,125 apples are left.\n#### 2,125"},
    {"question": "The temperature was 5 degrees and fell by 15 degrees. What is it now?",
     "answer": "5 - 15 = <<5-15=-10>>-10 degrees.\n#### -10"},
]


@pytest.fixture
def gsm8k_problems():
    """Three GSM8K-style problems: a plain final answer, one with a thousands separator, a negative one."""
    return [dict(p) for p in PROBLEMS]


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    """A randomly initialised tiny Llama and a byte-level BPE tokenizer, both built in-process (random
    weights: the numbers mean nothing, the pipeline is what is tested)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<s>"])
    tok.train_from_iterator([p["question"] + " " + p["answer"] for p in PROBLEMS] * 3, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    model = LlamaForCausalLM(cfg).eval()
    model.config._attn_implementation = "eager"
    folder = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return tokenizer, model, folder


