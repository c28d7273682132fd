"""Shared fixtures: the shipped sample and one tiny T5 per test session (offline, CPU)."""

from __future__ import annotations

import os

import pytest
import torch

ON_REQUEST = ("full", "rehearsal")  # markers that run only when -m names them


def pytest_collection_modifyitems(config, items):
    """``full`` (Hub + GPU) and ``rehearsal`` (12 GiB, minutes) run only when ``-m`` names them.

    pyproject's addopts deselect them with ``-m 'not full and not rehearsal'``, but any ``-m`` on
    the command line replaces that one: the quick loop ``-m "not slow"`` would start both.
    """
    expression = config.getoption("markexpr") or ""
    keep, drop = [], []
    for item in items:
        unasked = [m for m in ON_REQUEST if item.get_closest_marker(m) and m not in expression]
        (drop if unasked else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# pytest-xdist runs one worker per core (pyproject's addopts: -n auto): each worker then gets its
# share of the cores, so two workers on two cores do not fight over them.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_threads = max(1, min(4, (os.cpu_count() or 1) // _workers))
torch.set_num_threads(_threads)
# The processes the tests start (the CLI, torchrun's workers, notebook kernels) get the same
# share: more OpenMP threads than cores spin-wait for each other and burn the time they share.
os.environ.setdefault("OMP_NUM_THREADS", str(_threads))
# Every process a test starts (the CLI, torchrun's workers, notebook kernels, `python -c`) imports
# this checkout's package, not whichever copy pip last installed (an editable install of another
# clone, a stale wheel): the tests test the code beside them.
_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] != _SRC:
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p)


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
