"""dialogsum_peft.hub: one clear message when the Hub cannot be reached, and the documented offline
switches instead of a minute of retries."""

import os
import time
import traceback

import pytest

from dialogsum_peft.data import load_dialogsum
from dialogsum_peft.hub import HubUnavailableError, hub_call, hub_reachable


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


def test_unreachable_hub_uses_the_documented_offline_switches(monkeypatch):
    """No minute of retries: when the Hub does not answer, loads are local-files-only."""
    from transformers import AutoTokenizer

    from dialogsum_peft.command_line.loading import go_offline_if_unreachable
    from dialogsum_peft.hub import load_hub_dataset

    seen = []
    assert (
        hub_call(lambda offline: seen.append(offline) or "loaded", "x", reachable=lambda: False)
        == "loaded"
    )
    assert (
        hub_call(lambda offline: seen.append(offline) or "loaded", "x", reachable=lambda: True)
        == "loaded"
    )
    assert seen == [True, False]
    start = time.monotonic()
    with pytest.raises(
        HubUnavailableError, match="tokenizer 'google/flan-t5-base'.*DIALOGSUM_MODE"
    ):
        hub_call(
            lambda offline: AutoTokenizer.from_pretrained(
                "google/flan-t5-base", local_files_only=offline
            ),
            "tokenizer 'google/flan-t5-base'",
            reachable=lambda: False,
        )
    assert time.monotonic() - start < 10
    # datasets has no per-call switch: without its import-time offline mode we stop at once
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    with pytest.raises(
        HubUnavailableError, match="dataset 'knkarthick/dialogsum'.*HF_HUB_OFFLINE=1"
    ):
        load_hub_dataset("knkarthick/dialogsum", reachable=lambda: False)
    # the command line sets the variable before the libraries are imported
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("dialogsum_peft.command_line.loading.hub_reachable", lambda: False)
    assert go_offline_if_unreachable() and os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.parametrize(
    "call, name",
    [
        ("model", "google/flan-t5-base"),
        ("model", "nobody/no-such-model-xyz"),
        ("data", "knkarthick/dialogsum"),
        ("data", "nobody/no-such-dataset-xyz"),
    ],
)
def test_offline_hub_gives_one_clear_message_fast(call, name):
    from huggingface_hub import constants

    from dialogsum_peft.command_line.loading import load_model_and_tokenizer

    # conftest sets HF_HUB_OFFLINE=1 before anything imports huggingface_hub: no network retries
    assert constants.HF_HUB_OFFLINE
    start = time.monotonic()
    with pytest.raises(HubUnavailableError) as err:
        load_model_and_tokenizer(name) if call == "model" else load_dialogsum(name)
    assert time.monotonic() - start < 30
    msg = str(err.value)
    assert f"'{name}'" in msg and "Hugging Face Hub" in msg
    assert "DIALOGSUM_MODE=smoke" in msg and "--preset smoke" in msg
    # one exception, not a chain of tracebacks
    text = "".join(traceback.format_exception(err.value))
    assert "During handling" not in text and "direct cause" not in text
    assert text.count("Traceback (most recent call last)") == 1
