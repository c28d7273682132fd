"""Shared fixtures: the shipped sample and one tiny T5 per test session (offline, CPU)."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


def usable_cores() -> int:
    """The cores this process may run on: torch's DataLoader warns (may run slow or freeze) when
    a test asks for more workers than this."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@pytest.fixture(scope="session")
def sample():
    from dialogsum_peft.data import load_dialogsum
    from dialogsum_peft.offline import sample_data_dir

    return load_dialogsum(sample_data_dir())


@pytest.fixture(scope="session")
def tiny_dir():
    """The smoke path's tiny T5 + tokenizer checkpoint folder (built once, then shared)."""
    from dialogsum_peft.offline import tiny_base_dir

    return tiny_base_dir()


@pytest.fixture()
def tiny(tiny_dir):
    """A fresh (model, tokenizer) pair loaded from the tiny checkpoint, in eval mode."""
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    model = T5ForConditionalGeneration.from_pretrained(tiny_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_dir)


@pytest.fixture()
def smoke_config(tmp_path):
    from dialogsum_peft.config import TrainConfig

    return TrainConfig.smoke(output_dir=str(tmp_path / "run"))


def lora(model, **settings):
    """``apply_method`` with smoke-config LoRA settings (``lora_r=4, lora_alpha=8`` ...)."""
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.methods import apply_method

    return apply_method(model, TrainConfig.smoke(**settings))
