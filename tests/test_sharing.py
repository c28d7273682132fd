"""Pushing an adapter to the Hub, as far as it runs offline: the files and the repository id it
would use, and each refusal (no card, the smoke toy, a token in a file, no login, no Hub) as one
line, before anything is sent. HF_HUB_OFFLINE=1 (conftest) and no login here."""

from __future__ import annotations

import pytest

from conftest import lora
from dialogsum_peft.command_line.run_outputs import save_adapter
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import AdapterError, HubUnavailableError
from dialogsum_peft.sharing import (
    UPLOAD_PATTERNS,
    HubLoginError,
    push_adapter,
    require_login,
    upload_plan,
    write_model_card,
)

FAKE_TOKEN = "hf_" + "Zq7" * 12  # token-shaped, never valid: no real token is used in tests


@pytest.fixture()
def no_login(monkeypatch, tmp_path):
    """No token anywhere huggingface_hub looks: environment variables, the saved login file."""
    import huggingface_hub.constants

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))


@pytest.fixture()
def bare_adapter(tiny, tmp_path):
    """A real LoRA adapter folder as save_adapter writes it (peft's template README.md)."""
    model, tokenizer = tiny
    return save_adapter(lora(model, lora_r=4, lora_alpha=8), tmp_path / "adapter", tokenizer)


@pytest.fixture()
def adapter(bare_adapter):
    """The folder with the card of a full-mode run (flan-t5-base on DialogSum)."""
    write_model_card(bare_adapter, TrainConfig(output_dir="unused"))
    return bare_adapter


def test_the_plan_names_the_adapter_tokenizer_and_card_and_builds_the_repo_id(adapter):
    (adapter / "notes.txt").write_text("my notes, not for the Hub\n")
    plan = upload_plan(adapter, user="someone")
    assert plan.repo_id == "someone/flan-t5-base-dialogsum-lora" and plan.private
    on_disk = sorted(p.name for p in adapter.iterdir() if p.name in UPLOAD_PATTERNS)
    assert list(plan.files) == on_disk
    assert {
        "adapter_config.json",
        "adapter_model.safetensors",
        "README.md",
        "tokenizer.json",
        "tokenizer_config.json",
    } <= set(plan.files)
    assert "notes.txt" not in plan.files
    assert upload_plan(adapter, "team/my-adapter", user="someone").repo_id == "team/my-adapter"
    with pytest.raises(ValueError, match="not a Hub repository id"):
        upload_plan(adapter, "team/bad name")
    with pytest.raises(ValueError, match="needs a namespace"):
        upload_plan(adapter, "my-adapter")


def test_a_dry_run_says_what_it_would_push_without_a_login(adapter, no_login):
    plan = push_adapter(adapter, dry_run=True)
    assert not plan.pushed and plan.url is None
    assert str(plan).startswith(f"would push {len(plan.files)} files (")
    assert "<your-user-name>/flan-t5-base-dialogsum-lora" in str(plan)
    assert "private repository" in str(plan)


def test_without_a_login_the_push_stops_with_one_line_saying_how_to_log_in(adapter, no_login):
    with pytest.raises(HubLoginError) as err:
        push_adapter(adapter)
    message = str(err.value)
    assert message.startswith("not logged in to the Hugging Face Hub: log in first")
    assert "notebook_login()" in message and "HF_TOKEN" in message and "\n" not in message
    with pytest.raises(HubLoginError):
        require_login()


def test_a_folder_without_our_card_is_not_pushed(bare_adapter, no_login):
    with pytest.raises(AdapterError, match="has no model card written by dialogsum_peft"):
        push_adapter(bare_adapter)
    with pytest.raises(AdapterError, match="adapter folder not found"):
        push_adapter(bare_adapter / "tokenizer.json")
    with pytest.raises(AdapterError, match="not a peft adapter folder"):
        push_adapter(bare_adapter.parent)


def test_the_smoke_toy_is_never_pushed(bare_adapter, smoke_config, no_login):
    write_model_card(bare_adapter, smoke_config)
    plan = push_adapter(bare_adapter, dry_run=True)
    assert plan.smoke and str(plan).startswith(
        "SMOKE MODE: tiny random model, numbers are meaningless: this toy adapter is never pushed"
    )
    with pytest.raises(AdapterError, match="smoke mode's toy adapter"):
        push_adapter(bare_adapter)  # refused before the login is even looked at


def test_a_folder_holding_a_token_is_not_pushed(adapter, no_login):
    config = adapter / "tokenizer_config.json"
    config.write_text(config.read_text().replace("{", '{"token": "' + FAKE_TOKEN + '", ', 1))
    with pytest.raises(AdapterError, match="a Hub token is written in") as err:
        push_adapter(adapter)
    assert FAKE_TOKEN not in str(err.value)  # never repeated


def test_offline_the_push_stops_before_sending_anything(adapter, monkeypatch, capsys):
    """HF_HUB_OFFLINE=1 with a (token-shaped, invalid) login: one line, no traceback, and the
    token is not repeated anywhere."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    with pytest.raises(HubUnavailableError, match="HF_HUB_OFFLINE=1") as err:
        push_adapter(adapter)
    captured = capsys.readouterr()
    assert FAKE_TOKEN not in str(err.value) + captured.out + captured.err
    with pytest.raises(HubUnavailableError, match="nothing was pushed"):
        push_adapter(adapter, "team/my-adapter")  # with a repo id: fails at create_repo
