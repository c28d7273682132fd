"""A second inference backend: CTranslate2, about twice as fast as PyTorch ``generate`` on a CPU.

Why: a reader who trained an adapter wants summaries of their own dialogues, often on a machine
without a GPU. CTranslate2 (https://opennmt.net/CTranslate2) is a maintained inference engine for
Transformer models with a converter for transformers' T5; on 2 CPU cores it generated 2.1x the
dialogues/s of our batched ``summarize`` for a flan-t5-base-shaped model (the measured
table is in docs/inference.md).

The engine is used through :class:`CTranslate2Model`, which :func:`dialogsum_peft.generation.
summarize` accepts in place of a PyTorch model: the same prompt, truncation (and its warning),
length-sorted batching, greedy or beam settings and input order, so every caller (``evaluate``,
``summarize``, the notebook) switches backend by switching the model object. In float32 the
summaries equal transformers' (tests/test_export.py).

ctranslate2 is an optional extra (``pip install ".[serve]"`` or ``-r requirements-serve.txt``);
without it :func:`require_ctranslate2` raises :class:`MissingExtraError` with one line saying so.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DialogSumError

BACKENDS = ("transformers", "ctranslate2")
# CTranslate2's names for the weight types a converted model is stored or run in.
QUANTIZATIONS = ("int8", "float32", "bfloat16")
INSTALL_HINT = "pip install 'dialogsum_peft[serve]' (or pip install -r requirements-serve.txt)"
# Every decoding option of Translator.translate_batch is passed explicitly, at the value that
# matches transformers' GenerationConfig defaults, so a model folder cannot bring its own: the
# summaries are decoded with what the run's settings record, whatever the backend
# (:func:`dialogsum_peft.generation.decoding_config` does the same for transformers).
DECODING_DEFAULTS = dict(
    length_penalty=1.0,
    repetition_penalty=1.0,
    no_repeat_ngram_size=0,
    coverage_penalty=0.0,
    sampling_topk=1,
    sampling_temperature=1.0,
    disable_unk=False,
    num_hypotheses=1,
    return_alternatives=False,
)


class MissingExtraError(DialogSumError, ImportError):
    """An optional package (here ctranslate2) is needed and not installed."""


def require_ctranslate2():
    """The ``ctranslate2`` module, or :class:`MissingExtraError` naming the install command."""
    try:
        import ctranslate2
    except ImportError:
        raise MissingExtraError(
            "the ctranslate2 backend needs the optional package ctranslate2, "
            f"which is not installed: {INSTALL_HINT}; or use --backend "
            "transformers"
        ) from None
    return ctranslate2


def is_ctranslate2_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a converted CTranslate2 model (model.bin + its config.json)."""
    path = Path(path)
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def convert(
    model_dir: str | os.PathLike, out_dir: str | os.PathLike, quantization: str = "float32"
) -> Path:
    """Convert a transformers T5 folder (safetensors + tokenizer) into CTranslate2's format.

    ``out_dir`` must not exist yet or be empty; it receives ``model.bin``, CTranslate2's
    ``config.json`` and vocabulary, and the tokenizer of ``model_dir`` (so the folder is all
    :class:`CTranslate2Model` needs). The model's ``generation_config.json`` is not copied:
    its decoding settings are never used (:data:`DECODING_DEFAULTS`). ``quantization`` is one
    of :data:`QUANTIZATIONS` (the weights' storage type). Raises :class:`MissingExtraError`.
    """
    import shutil

    ctranslate2 = require_ctranslate2()
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"quantization must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}"
        )

    class Converter(ctranslate2.converters.TransformersConverter):
        def load_model(self, model_class, model_name_or_path, **kwargs):
            # transformers 5 always sets T5Config.tie_word_embeddings=True and keeps the real
            # switch (scale the decoder output by d_model**-0.5) in scale_decoder_outputs;
            # ctranslate2 4.8's T5 loader reads tie_word_embeddings, so without this every
            # converted Flan-T5 would scale its logits by 1/sqrt(d_model): the same greedy
            # tokens, but other beam-search results and scores.
            model = super().load_model(model_class, model_name_or_path, **kwargs)
            scaled = getattr(model.config, "scale_decoder_outputs", None)
            if scaled is not None:
                model.config.tie_word_embeddings = bool(scaled)
            return model

    Converter(str(model_dir)).convert(str(out_dir), quantization=quantization, force=True)
    for f in model_dir.iterdir():
        if f.is_file() and f.name.startswith(("tokenizer", "special_tokens", "spiece")):
            shutil.copy2(f, out_dir / f.name)
    return out_dir


class CTranslate2Model:
    """A converted model loaded in a ``ctranslate2.Translator``, usable wherever
    :func:`dialogsum_peft.generation.summarize` takes a model.

    ``compute_type`` is the type the weights are run in (``"default"``: as stored; ``"int8"``,
    ``"float32"``, ``"bfloat16"`` convert at load time). CPU only here; ``threads`` defaults to
    torch's thread count, so ``OMP_NUM_THREADS`` limits both backends alike.
    """

    def __init__(
        self, path: str | os.PathLike, compute_type: str = "default", threads: int | None = None
    ):
        import torch

        ctranslate2 = require_ctranslate2()
        self.path = Path(path)
        if not is_ctranslate2_dir(self.path):
            raise DialogSumError(
                f"{self.path} is not a CTranslate2 model folder (model.bin + "
                "config.json, as 'export --format ctranslate2' writes)"
            )
        self.compute_type = compute_type
        self.translator = ctranslate2.Translator(
            str(self.path),
            device="cpu",
            compute_type=compute_type,
            intra_threads=threads or torch.get_num_threads(),
            inter_threads=1,
        )

    def load_tokenizer(self):
        """The tokenizer saved beside the converted weights."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.path)

    def generate_ids(
        self,
        tokenizer,
        batch: list[list[int]],
        *,
        max_new_tokens: int,
        num_beams: int,
        min_new_tokens: int | None = None,
    ) -> list[list[int]]:
        """Token ids generated for each (already truncated) input of ``batch``, in order.

        The same settings as transformers' ``generate`` with
        :func:`~dialogsum_peft.generation.decoding_config`: ``max_new_tokens`` counts the end
        token, ``min_new_tokens`` keeps the end token away until that many tokens exist,
        ``num_beams`` 1 is greedy, and every other option at its default
        (:data:`DECODING_DEFAULTS`), whatever a ``generation_config.json`` in the model's folder
        says. No input is truncated again (``max_input_length=0``).
        """
        tokens = [tokenizer.convert_ids_to_tokens(ids) for ids in batch]
        results = self.translator.translate_batch(
            tokens,
            beam_size=num_beams,
            max_decoding_length=max_new_tokens,
            min_decoding_length=min_new_tokens or 0,
            max_input_length=0,
            return_end_token=True,
            **DECODING_DEFAULTS,
        )
        return [tokenizer.convert_tokens_to_ids(r.hypotheses[0]) for r in results]

    def __repr__(self) -> str:
        return f"CTranslate2Model({str(self.path)!r}, compute_type={self.compute_type!r})"
