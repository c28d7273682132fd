"""The offline smoke path: the shipped DialogSum-format sample and a tiny random T5.

Why: the Hub is unreachable in CI (and on some laptops), yet every helper the notebook calls must
run for real in tests. A T5 with a few layers and d_model 32, plus a tokenizer trained on our own
sample with the ``tokenizers`` library, exercises exactly the same code paths as Flan-T5 in
seconds on a CPU. Its summaries are gibberish: it has learned nothing. Only the mechanics count.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .settings import TINY_MODEL_NAME, sample_data_dir  # noqa: F401 - the smoke path's names

SMOKE_BANNER = (
    "SMOKE MODE: the model is a tiny randomly initialised T5, not flan-t5-base: its summaries "
    "are gibberish and ROUGE numbers are meaningless; they only show the pipeline runs.{reads}"
)  # {reads}: " This run <does> <data>." (smoke_banner), or nothing where the caller does not know
SAMPLE_NAME = "the project's small offline sample"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 2000):
    """A BPE tokenizer with T5's special tokens (pad 0, eos 1, unk 2), EOS appended.

    BPE, not T5's Unigram: the ``tokenizers`` Unigram trainer's scores differ in the last float
    digits on every run, even single-threaded on sorted input (its EM sums follow the iteration
    order of Rust hash maps, which are seeded randomly per process), so every tiny base was a
    different tokenizer. BPE training counts integers and breaks ties by token id: the same
    texts always give byte-identical tokenizer files.
    """
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "</s>", "<unk>"],
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=512,  # as flan-t5-base's tokenizer_config.json; every call passes max_length
    )


SMOKE_MARK = "dialogsum_peft_smoke_model"  # in the tiny T5's config.json: its results mean nothing


def is_smoke_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a model folder whose ``config.json`` carries :data:`SMOKE_MARK` (a
    tiny T5 of the smoke path, of this version or an earlier one)."""
    import json

    config = Path(path).expanduser() / "config.json"
    try:
        return config.is_file() and bool(json.loads(config.read_text("utf-8")).get(SMOKE_MARK))
    except (OSError, ValueError, AttributeError):
        return False


def is_smoke_model(model) -> bool:
    """Whether ``model`` (or the base inside a peft model) is the smoke path's tiny random T5,
    by the :data:`SMOKE_MARK` its config carries: results carry their smoke mark from it."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return bool(getattr(getattr(base, "config", None), SMOKE_MARK, False))


# The tiny base's initialisation seed. With two heads, seed 0 gives a base that ends every
# summary at once (empty strings): tests could not tell dialogues, models or orders apart, and
# the notebook would show nothing. Seed 6 writes distinct gibberish for 6 of the 10 sample test
# dialogues (four heads with seed 0: 4 of 10). tests/test_offline.py checks the property.
TINY_MODEL_SEED = 6


def tiny_t5_config(vocab_size: int, d_model: int = 32, num_layers: int = 2, num_heads: int = 2):
    """A flan-t5-shaped config (gated-gelu, untied head) scaled down to a few layers, marked
    with :data:`SMOKE_MARK`.

    Two heads of 16 (``num_heads * d_kv == d_model``, so every weight keeps its shape): at 512
    source tokens in batches of 8 the eager attention's (batch, heads, length, length) scores
    dominate a CPU training step, and a step took 0.91 s with four heads of 8, 0.40 s with two
    (one thread, this machine). The smoke path only has to run the code, not model anything.
    """
    from transformers import T5Config

    return T5Config(
        vocab_size=vocab_size,
        d_model=d_model,
        d_kv=d_model // num_heads,
        d_ff=2 * d_model,
        num_layers=num_layers,
        num_decoder_layers=num_layers,
        num_heads=num_heads,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        dropout_rate=0.1,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        **{SMOKE_MARK: True},
    )


def tiny_model_and_tokenizer(
    texts: Iterable[str],
    save_dir: str | os.PathLike | None = None,
    vocab_size: int = 2000,
    d_model: int = 32,
    num_layers: int = 2,
    seed: int = TINY_MODEL_SEED,
):
    """Build a tiny random T5 and a tokenizer trained on ``texts``; save, reload, return both.

    The pair goes through ``save_pretrained``/``from_pretrained`` like a real checkpoint, so
    the rest of the pipeline treats it exactly like Flan-T5. ``save_dir`` defaults to a new
    temporary folder. Same texts and seed give byte-identical files, in any process, so the
    folder :func:`tiny_base_dir` names after a hash of the sample and this module identifies the
    base an adapter was trained on (its ``base_model_name_or_path``).
    """
    import torch
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    config = tiny_t5_config(len(tokenizer), d_model=d_model, num_layers=num_layers)
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config)
    save_dir = Path(save_dir) if save_dir else Path(tempfile.mkdtemp(prefix="tiny-t5-"))
    model.save_pretrained(save_dir)
    tokenizer.save_pretrained(save_dir)
    model = T5ForConditionalGeneration.from_pretrained(save_dir)
    return model, AutoTokenizer.from_pretrained(save_dir)


def sample_texts(dataset_dict) -> list[str]:
    """Texts to train the tiny tokenizer on: prompts and summaries of every split."""
    from .data import build_prompt

    texts: list[str] = []
    for split in dataset_dict.values():
        texts += [build_prompt(d) for d in split["dialogue"]]
        texts += [r for refs in split["references"] for r in refs]
    return texts


MODES = ("auto", "full", "smoke")


def resolve_mode(requested: str | None = None, env: str = "DIALOGSUM_MODE", reachable=None) -> str:
    """``"full"`` or ``"smoke"``: the environment variable wins, then ``requested``, then auto.

    ``auto`` means full when the Hugging Face Hub answers, smoke otherwise. Anything else is a
    :class:`~dialogsum_peft.errors.ConfigError` (a ValueError), shown in one line.
    """
    from .errors import ConfigError
    from .hub import hub_reachable

    given = os.environ.get(env) or requested or "auto"
    mode = given.strip().lower() if isinstance(given, str) else given
    if mode not in MODES:
        raise ConfigError(f"{env}/mode must be one of {', '.join(MODES)}, got {given!r}")
    if mode == "auto":
        return "full" if (reachable or hub_reachable)() else "smoke"
    return mode


def describe_data(source: str | os.PathLike | None) -> str | None:
    """What a run reads, as the smoke banner, plot titles, captions and the model card name it:
    "DialogSum" for the Hub's DialogSum (:data:`~dialogsum_peft.settings.HUB_DATASET`),
    :data:`SAMPLE_NAME` for the shipped sample (written for this project: not DialogSum), else
    the folder, file or Hub id as given (``"-"``: standard input); ``None`` for ``None``."""
    from .settings import HUB_DATASET

    if source is None:
        return None
    if str(source) == HUB_DATASET:
        return "DialogSum"
    if str(source) == "-":
        return "standard input"
    path = Path(source).expanduser()
    if path.exists() and path.resolve() == sample_data_dir().resolve():
        return SAMPLE_NAME
    return str(source)


def smoke_banner(
    data: str | os.PathLike | None = None, doing: str = "reads", width: int = 96
) -> str:
    """The loud banner printed wherever smoke-mode results are shown: what the model is, then,
    in a sentence of its own, what the run does with ``data`` (a dataset folder, Hub id or input
    file, :func:`describe_data`; ``doing``: "reads", "trains on", "summarizes the dialogues
    of"), so the data is never read as what the model was trained on; without ``data``, only
    the first."""
    import textwrap

    described = describe_data(data)
    text = SMOKE_BANNER.format(reads=f" This run {doing} {described}." if described else "")
    bar = "!" * width
    body = "\n".join(
        f"!! {line}"
        for line in textwrap.wrap(  # a path stays whole
            text, width - 3, break_on_hyphens=False, break_long_words=False
        )
    )
    return f"{bar}\n{body}\n{bar}"


def tiny_base_path() -> Path:
    """Where :func:`tiny_base_dir` keeps the tiny T5, without building it: a folder of the
    temporary directory named after a hash of the sample files, this module's source and the
    versions of the libraries that write its files (torch, transformers, tokenizers:
    ``config.json`` records the transformers version)."""
    import hashlib

    from .versions import library_versions

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for version in library_versions(("torch", "transformers", "tokenizers")).values():
        digest.update(version.encode() + b"\0")
    for path in sorted(sample_data_dir().glob("*.jsonl")):
        digest.update(path.name.encode() + path.read_bytes())
    return Path(tempfile.gettempdir()) / f"dialogsum_peft-tiny-t5-{digest.hexdigest()[:16]}"


def is_smoke_base(name: str | None) -> bool:
    """Whether ``name`` (a config's ``model_name``, an adapter's recorded base) is the smoke
    path's tiny T5 of this version: :data:`TINY_MODEL_NAME` or :func:`tiny_base_path`."""
    return bool(name) and (
        name == TINY_MODEL_NAME or Path(name).expanduser().absolute() == tiny_base_path()
    )


def tiny_base_dir() -> Path:
    """The folder of the smoke path's tiny T5 (built on first use, then reused).

    It is built from the shipped sample with :data:`TINY_MODEL_SEED`, so every run, folder and
    command gets the same base model and tokenizer. The cache key hashes the sample files and
    this module's source, and the versions of the libraries that write its files (torch,
    transformers, tokenizers: ``config.json`` records the transformers version): a change to any
    of them builds a new base instead of reusing one another version wrote.
    """
    data_dir = sample_data_dir()
    target = tiny_base_path()
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file():
        return target
    from .atomic import atomic_dir
    from .data import load_dialogsum

    with atomic_dir(target, replace=False) as build:  # another process's finished build wins
        tiny_model_and_tokenizer(
            sample_texts(load_dialogsum(data_dir)), save_dir=build, seed=TINY_MODEL_SEED
        )
    return target


def resolve_model_path(name: str) -> str:
    """What to pass to ``from_pretrained``: ``name`` itself, or the tiny T5's folder in smoke mode."""
    return str(tiny_base_dir()) if name == TINY_MODEL_NAME else name
