import os
import time

import pytest
import torch

from dialogsum_peft.evaluation import evaluate_model, limit_split
from dialogsum_peft.hub import HubUnavailableError, hub_call, hub_reachable
from dialogsum_peft.evaluation import compute_rouge, rouge_by_protocol
from dialogsum_peft.offline import sample_texts, tiny_model_and_tokenizer


def test_tiny_tokenizer_has_t5_special_ids(tiny):
    model, tok = tiny
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    ids = tok("#Person1#: Hello, how are you?")["input_ids"]
    assert ids[-1] == 1 and 2 not in ids  # EOS appended, sample words known
    assert tok.decode(ids, skip_special_tokens=True) == "#Person1#: Hello, how are you?"
    assert model.config.decoder_start_token_id == 0 and model.config.vocab_size == len(tok)
    assert model.config.d_model <= 64 and model.config.num_layers <= 4


def test_tiny_model_is_reproducible(sample, tmp_path):
    texts = sample_texts(sample)
    a, _ = tiny_model_and_tokenizer(texts, save_dir=tmp_path / "a", seed=3)
    b, _ = tiny_model_and_tokenizer(texts, save_dir=tmp_path / "b", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert (tmp_path / "a" / "model.safetensors").is_file()


def test_evaluate_model_scores_against_all_references(tiny, sample):
    model, tok = tiny
    test = limit_split(sample["test"], 4)
    result = evaluate_model(model, tok, test, batch_size=2, max_new_tokens=8, progress=False)
    assert len(result.predictions) == 4 and len(result.per_example("best")) == 4
    assert [len(p) for p in result.pair_scores] == [len(r) for r in test["references"]]
    assert result.scores == compute_rouge(result.predictions, test["references"], multi_ref="mean")
    assert result.by_protocol == rouge_by_protocol(result.predictions, test["references"])
    with pytest.raises(ValueError, match="at least 1"):
        limit_split(sample["test"], 0)


def test_hub_failure_is_one_clear_message():
    def offline(local_files_only):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    with pytest.raises(HubUnavailableError) as err:
        hub_call(offline, what="model 'google/flan-t5-base'")
    msg = str(err.value)
    assert "google/flan-t5-base" in msg and "DIALOGSUM_MODE=smoke" in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_hub_reachable_respects_offline_flag(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reachable() is False


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


def test_cpu_warning_only_for_full_runs_on_cpu():
    from dialogsum_peft.hardware import DeviceInfo, cpu_warning

    msg = cpu_warning(DeviceInfo(), 8000, smoke=False)
    assert "no GPU" in msg and "hours" in msg and "DIALOGSUM_MODE=smoke" in msg
    assert cpu_warning(DeviceInfo(), 8000, smoke=True) is None
    assert cpu_warning(DeviceInfo("cuda", "T4", 15, False), 8000, smoke=False) is None


def test_unreachable_hub_uses_the_documented_offline_switches(monkeypatch):
    """No minute of retries: when the Hub does not answer, loads are local-files-only."""
    from transformers import AutoTokenizer

    from dialogsum_peft.hub import go_offline_if_unreachable, load_hub_dataset

    seen = []
    assert hub_call(lambda offline: seen.append(offline) or "loaded", "x",
                    reachable=lambda: False) == "loaded"
    assert hub_call(lambda offline: seen.append(offline) or "loaded", "x",
                    reachable=lambda: True) == "loaded"
    assert seen == [True, False]
    start = time.monotonic()
    with pytest.raises(HubUnavailableError, match="tokenizer 'google/flan-t5-base'.*DIALOGSUM_MODE"):
        hub_call(lambda offline: AutoTokenizer.from_pretrained("google/flan-t5-base",
                                                               local_files_only=offline),
                 "tokenizer 'google/flan-t5-base'", reachable=lambda: False)
    assert time.monotonic() - start < 10
    # datasets has no per-call switch: without its import-time offline mode we stop at once
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    with pytest.raises(HubUnavailableError, match="dataset 'knkarthick/dialogsum'.*HF_HUB_OFFLINE=1"):
        load_hub_dataset("knkarthick/dialogsum", reachable=lambda: False)
    # the command line sets the variable before the libraries are imported
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("dialogsum_peft.hub.hub_reachable", lambda: False)
    assert go_offline_if_unreachable() and os.environ["HF_HUB_OFFLINE"] == "1"
