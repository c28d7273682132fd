"""dialogsum_peft.offline: the smoke path. The tiny T5 has T5's special ids and is byte-identical on
every build, so every run and command shares one base; the mode is resolved as documented."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import gen
from dialogsum_peft.offline import sample_texts, tiny_base_dir, tiny_model_and_tokenizer

# Builds the tiny base in a fresh interpreter and prints {file name: sha256} of what it saved.
CHILD = """
import hashlib, json, sys
from pathlib import Path
from dialogsum_peft.data import load_dialogsum
from dialogsum_peft.offline import TINY_MODEL_SEED, sample_data_dir, sample_texts
from dialogsum_peft.offline import tiny_model_and_tokenizer
out = Path(sys.argv[1])
texts = sample_texts(load_dialogsum(sample_data_dir()))
tiny_model_and_tokenizer(texts, save_dir=out, seed=TINY_MODEL_SEED)
print(json.dumps({f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in out.iterdir()}))
"""


def file_hashes(folder: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir()}


def test_two_builds_in_one_process_are_byte_identical(sample, tmp_path):
    texts = sample_texts(sample)
    tiny_model_and_tokenizer(texts, save_dir=tmp_path / "a", seed=0)
    tiny_model_and_tokenizer(texts, save_dir=tmp_path / "b", seed=0)
    a = file_hashes(tmp_path / "a")
    assert {"tokenizer.json", "tokenizer_config.json", "config.json", "model.safetensors"} <= set(a)
    assert a == file_hashes(tmp_path / "b")


def test_a_build_in_another_process_is_byte_identical(tiny_dir, tmp_path):
    """A fresh interpreter with another hash seed and the tokenizers' threads on builds the
    same files as this session (its own hash seed, TOKENIZERS_PARALLELISM=false)."""
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "TOKENIZERS_PARALLELISM": "true",
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "child")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == file_hashes(tiny_dir)


def test_every_command_shares_one_tiny_base(tiny_dir):
    """The smoke base is built once per code version and sample, wherever a run writes."""
    first = tiny_base_dir()
    assert tiny_base_dir() == first
    assert file_hashes(first) == file_hashes(tiny_dir)


def test_tiny_tokenizer_has_t5_special_ids(tiny):
    model, tok = tiny
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    ids = tok("#Person1#: Hello, how are you?")["input_ids"]
    assert ids[-1] == 1 and 2 not in ids  # EOS appended, sample words known
    assert tok.decode(ids, skip_special_tokens=True) == "#Person1#: Hello, how are you?"
    assert model.config.decoder_start_token_id == 0 and model.config.vocab_size == len(tok)
    assert model.config.d_model <= 64 and model.config.num_layers <= 4


def test_the_smoke_base_writes_distinct_non_empty_gibberish(tiny, sample):
    """What TINY_MODEL_SEED was chosen for: a base that stops at once (empty summaries) or writes
    one string for every dialogue would let order, adapter and backend mistakes pass unseen."""
    from dialogsum_peft.generation import summarize

    model, tok = tiny
    summaries = summarize(
        model, tok, list(sample["test"]["dialogue"]), progress=False, **gen(max_new_tokens=8)
    )
    assert "" not in summaries
    assert len(set(summaries)) >= 4


def test_tiny_model_is_reproducible(sample, tmp_path):
    texts = sample_texts(sample)
    a, _ = tiny_model_and_tokenizer(texts, save_dir=tmp_path / "a", seed=3)
    b, _ = tiny_model_and_tokenizer(texts, save_dir=tmp_path / "b", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert (tmp_path / "a" / "model.safetensors").is_file()


def test_mode_resolution(monkeypatch):
    from dialogsum_peft.offline import resolve_mode

    monkeypatch.delenv("DIALOGSUM_MODE", raising=False)
    assert resolve_mode("auto", reachable=lambda: True) == "full"
    assert resolve_mode("auto", reachable=lambda: False) == "smoke"
    assert resolve_mode("full", reachable=lambda: False) == "full"
    monkeypatch.setenv("DIALOGSUM_MODE", "smoke")  # the environment overrides the notebook knob
    assert resolve_mode("full", reachable=lambda: True) == "smoke"
    monkeypatch.setenv("DIALOGSUM_MODE", "fast")
    with pytest.raises(ValueError, match="auto, full, smoke"):
        resolve_mode()


def test_the_smoke_banner_says_what_the_model_is_and_apart_what_the_run_reads(tmp_path):
    """Issue 32 (11): the banner said "on the project's small offline sample" on every smoke run,
    an own-data run and `summarize` of a user's file included. Review item 4: "a tiny randomly
    initialised T5 on .../my_dialogues.txt" read as if the model had been trained on the user's
    file: what the model is and what the run does with the data are two sentences."""
    from dialogsum_peft.offline import SAMPLE_NAME, sample_data_dir, smoke_banner

    def text(banner):
        return " ".join(line[3:] for line in banner.splitlines() if line.startswith("!! "))

    model = (
        "SMOKE MODE: the model is a tiny randomly initialised T5, not flan-t5-base: its "
        "summaries are gibberish and ROUGE numbers are meaningless; they only show the "
        "pipeline runs."
    )
    assert text(smoke_banner()) == model
    assert text(smoke_banner(sample_data_dir(), "trains on")) == (
        f"{model} This run trains on {SAMPLE_NAME}."
    )
    own = tmp_path / "my_dialogues.txt"
    own.write_text("#Person1#: Hi.\n", encoding="utf-8")
    said = text(smoke_banner(own, "summarizes the dialogues of"))
    assert said == f"{model} This run summarizes the dialogues of {own}."
    assert f"T5 on {own}" not in said and SAMPLE_NAME not in said
    assert text(smoke_banner("-", "summarizes the dialogues of")).endswith(
        "This run summarizes the dialogues of standard input."
    )
    assert text(smoke_banner(own)).endswith(f"This run reads {own}.")  # the default verb
