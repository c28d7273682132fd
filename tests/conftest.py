"""Shared fixtures: the shipped sample and one tiny T5 per test session (offline, CPU)."""

from __future__ import annotations

import gc
import importlib.util
import os
import sys

import pytest

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
# Every process a test starts (the CLI, torchrun's workers, notebook kernels, `python -c`) imports
# this checkout's package, not whichever copy pip last installed (an editable install of another
# clone, a stale wheel): the tests test the code beside them.
_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] != _SRC:
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p
    )


# jsonschema, which nbformat imports to validate notebooks, imports rfc3987_syntax where it is
# installed (jupyter-events' format-nongpl extra), and that builds a Lark grammar at import: 5 to
# 8 s of CPU in each test process here, for jsonschema's "iri" format checker alone. nbformat
# validates without format checkers, so the tests stop that one optional import.
sys.modules.setdefault("rfc3987_syntax", None)


def pytest_configure(config):
    """Threads for the processes that run tests: pytest-xdist runs one worker per core
    (pyproject's addopts: -n auto), and each worker gets its share of the cores, so two workers on
    two cores do not fight over them. The processes the tests start (the CLI, torchrun's workers,
    notebook kernels) get the same share through OMP_NUM_THREADS: more OpenMP threads than cores
    spin-wait for each other and burn the time they share. xdist's controller runs no test, sets
    nothing (its workers inherit its environment) and does not import torch (its start-up delays
    every worker's)."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    import torch

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = max(1, min(4, (os.cpu_count() or 1) // workers))
    # one count for this process and its children (a user's OMP_NUM_THREADS wins): tests that
    # resume in-process a run a child trained compare weights for exact equality
    threads = os.environ.setdefault("OMP_NUM_THREADS", str(share))
    torch.set_num_threads(int(threads) if threads.isdigit() else share)


def pytest_collection_finish(session):
    """Freeze what collection built (the test modules, torch, transformers: ~640,000 objects)
    out of the garbage collector's reach. The Trainer runs ``gc.collect()`` at each ``train``
    (accelerate's ``free_memory``) and a full collection over all of them took ~0.5 s here,
    16 s over the suite; objects made by the tests are collected as before."""
    gc.collect()
    gc.freeze()


SHARED_WHAT = (
    "a folder beside this repository, never part of it, that holds the real DialogSum "
    "files (dialogsum/) and google/flan-t5-base's tokenizer (flan-t5-tokenizer/) for "
    "checks that cannot use the Hub; docs/tests.md"
)


def ctranslate2_tests_skip(environ, installed: bool) -> bool:
    """ctranslate2 is optional (requirements-serve.txt): a machine without it skips its tests and
    says how to install it, unless the package set says it holds the extra
    (``DIALOGSUM_REQUIRE_CTRANSLATE2=1``: .ci/run's first set and the floors set, written by
    scripts/package_set.py), where a missing ctranslate2 fails them instead. Keyed on the set, not
    on CI: Colab's set runs in CI and has no ctranslate2."""
    return not installed and environ.get("DIALOGSUM_REQUIRE_CTRANSLATE2") != "1"


needs_ct2 = pytest.mark.skipif(
    ctranslate2_tests_skip(os.environ, importlib.util.find_spec("ctranslate2") is not None),
    reason="ctranslate2 is not installed (pip install -r requirements-serve.txt); a package set "
    "that holds it (DIALOGSUM_REQUIRE_CTRANSLATE2=1) never skips",
)


def needs_shared(*parts: str) -> str:
    """A skip reason for a test that needs ``../shared/<part>``: what is missing and what
    ``../shared`` is (:data:`SHARED_WHAT`), so the reason reads without knowing the project."""
    names = " and ".join(f"../shared/{p}" for p in parts)
    return f"needs {names}: ../shared is {SHARED_WHAT}"


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


def randomize_lora_b(peft_model, seed: int = 0, scale: float = 2.0):
    """Give a fresh LoRA adapter (B = 0, a no-op) random B weights (``scale`` x standard normal,
    drawn from a generator seeded with ``seed``), as training would: its summaries differ from
    the zero-shot ones. Changes ``peft_model`` in place and returns it."""
    import torch

    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=rng) * scale)
    return peft_model


def summarize_sample_argv(adapter, *flags) -> list[str]:
    """The ``main([...])`` argv that summarizes the shipped sample's test split with ``adapter``
    (``flags`` after the command name)."""
    from dialogsum_peft.offline import sample_data_dir

    test = sample_data_dir() / "test.jsonl"
    return ["summarize", *flags, "--adapter", str(adapter), "--input", str(test)]


def gen(**overrides):
    """The generation settings ``summarize`` and ``evaluate_model`` take, as a run passes them
    (``**config.generation_kwargs()``): the smoke config's, with ``overrides``."""
    from dialogsum_peft.config import TrainConfig

    return {**TrainConfig.smoke().generation_kwargs(), **overrides}
