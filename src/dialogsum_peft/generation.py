"""Batched, length-sorted, deterministic summary generation.

Why: the original tutorial generated one dialogue at a time, which leaves a GPU mostly idle
(about 1.5 dialogues/s for flan-t5-base). Batching inputs of similar length (sorted, so little
padding) is one to two orders of magnitude faster and gives the same greedy summaries. Results
come back in input order whatever the internal order was.

Decoding uses the project's settings and nothing else: ``generate`` fills every setting its
``GenerationConfig`` leaves unset from the model's own ``generation_config.json``, so a
fine-tuned model folder holding ``no_repeat_ngram_size``, ``min_length`` or
``repetition_penalty`` changed our summaries while our records said plain greedy decoding.
:func:`decoding_config` keeps only the model's token ids, and :func:`summarize` decodes with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from .data import build_prompt
from .input_report import measure_inputs, warn_input_loss
from .inputs import has_visible_text


def _check_dialogues(dialogues) -> list[str]:
    if isinstance(dialogues, str):
        raise ValueError("summarize expects a list of dialogues, got a single string; wrap it: [dialogue]")
    if not isinstance(dialogues, Sequence) and not hasattr(dialogues, "__iter__"):
        raise ValueError(f"summarize expects a list of dialogue strings, got {type(dialogues).__name__}")
    dialogues = list(dialogues)
    if not dialogues:
        raise ValueError("summarize got no dialogues (empty list)")
    for i, d in enumerate(dialogues):
        if not isinstance(d, str):
            raise ValueError(f"dialogue {i} is a {type(d).__name__}, not a string")
        if not has_visible_text(d):
            raise ValueError(f"dialogue {i} is empty (nothing visible in it)")
    return dialogues


def model_device(model) -> torch.device:
    return next(model.parameters()).device


TOKEN_IDS = ("decoder_start_token_id", "bos_token_id", "eos_token_id", "pad_token_id")


def decoding_config(model, *, max_new_tokens: int, num_beams: int,
                    min_new_tokens: int | None = None):
    """The ``transformers.GenerationConfig`` summaries are decoded with.

    Greedy (``num_beams=1``) or beam search, no sampling, at most ``max_new_tokens`` tokens (and
    at least ``min_new_tokens``); from the model's own ``generation_config`` only the token ids
    in :data:`TOKEN_IDS` (decoder start, BOS, EOS, padding), never its decoding settings.
    """
    from transformers import GenerationConfig

    own = getattr(model, "generation_config", None)
    ids = {k: getattr(own, k) for k in TOKEN_IDS if getattr(own, k, None) is not None}
    settings = dict(max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False)
    if min_new_tokens is not None:
        settings["min_new_tokens"] = min_new_tokens
    return GenerationConfig(**settings, **ids)


@contextmanager
def decoding_with(model, generation_config) -> Iterator[None]:
    """``model.generation_config`` (a peft model's base model's) is ``generation_config`` inside
    the block, so ``generate`` can take no unset setting from the model's file; restored after."""
    target = model.get_base_model() if hasattr(model, "get_base_model") else model
    saved = target.generation_config
    target.generation_config = generation_config
    try:
        yield
    finally:
        target.generation_config = saved


@torch.inference_mode()
def summarize(model, tokenizer, dialogues: Sequence[str], *, batch_size: int, max_new_tokens: int,
              num_beams: int, max_source_length: int, progress: bool = True,
              min_new_tokens: int | None = None, use_prompt: bool = True,
              desc: str = "summarizing", check_inputs: bool = True) -> list[str]:
    """Summaries of ``dialogues`` (greedy with ``num_beams`` 1, or beam search), in input order.

    The generation settings are the run's, ``**config.generation_kwargs()``
    (:meth:`~dialogsum_peft.config.TrainConfig.generation_kwargs`): no default of their own here.
    Inputs are the instruction prompt (:func:`dialogsum_peft.data.build_prompt`), truncated to
    ``max_source_length`` tokens, sorted longest first and batched. Works for a base model and a
    peft model, on CPU and CUDA (the model's own device is used). ``min_new_tokens`` forces a
    length (benchmarks use it so random weights do not stop early). Decoding uses
    :func:`decoding_config` alone: settings in the model's ``generation_config.json`` are ignored.
    ``model`` may also be a :class:`dialogsum_peft.ctranslate2_backend.CTranslate2Model` (the
    CTranslate2 backend), which decodes with the same settings.
    With ``check_inputs`` an :class:`~dialogsum_peft.input_report.InputLossWarning` says how many
    dialogues were truncated or hold characters the tokenizer cannot encode (callers that measure
    the whole input once, e.g. :mod:`dialogsum_peft.distributed`, pass ``False``).
    """
    from tqdm.auto import tqdm

    dialogues = _check_dialogues(dialogues)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    texts = [build_prompt(d) for d in dialogues] if use_prompt else dialogues
    if check_inputs:
        # stacklevel 4: past inference_mode's wrapper, to the caller of summarize
        warn_input_loss(measure_inputs(texts, tokenizer, max_source_length), stacklevel=4)
    encoded = tokenizer(texts, truncation=True, max_length=max_source_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    if hasattr(type(model), "generate_ids"):  # an inference engine, not a PyTorch module
        return _summarize_with_engine(model, tokenizer, encoded, order, batch_size, progress, desc,
                                      max_new_tokens=max_new_tokens, num_beams=num_beams,
                                      min_new_tokens=min_new_tokens)
    device = model_device(model)
    was_training = model.training
    model.eval()
    results: list[str | None] = [None] * len(texts)
    generation_config = decoding_config(model, max_new_tokens=max_new_tokens, num_beams=num_beams,
                                        min_new_tokens=min_new_tokens)
    try:
        bar = tqdm(total=len(texts), desc=desc, disable=not progress, unit="dialogue")
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            with decoding_with(model, generation_config):
                out = model.generate(input_ids=batch["input_ids"],
                                     attention_mask=batch["attention_mask"],
                                     generation_config=generation_config)
            for i, text in zip(idx, tokenizer.batch_decode(out, skip_special_tokens=True)):
                results[i] = text.strip()
            bar.update(len(idx))
        bar.close()
    finally:
        model.train(was_training)
    return results  # type: ignore[return-value]


def _summarize_with_engine(engine, tokenizer, encoded, order, batch_size, progress, desc,
                           **gen_kwargs) -> list[str]:
    """The batch loop of :func:`summarize` for an engine with ``generate_ids`` (CTranslate2)."""
    from tqdm.auto import tqdm

    results: list[str | None] = [None] * len(encoded)
    with tqdm(total=len(encoded), desc=desc, disable=not progress, unit="dialogue") as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out = engine.generate_ids(tokenizer, [encoded[i] for i in idx], **gen_kwargs)
            for i, text in zip(idx, tokenizer.batch_decode(out, skip_special_tokens=True)):
                results[i] = text.strip()
            bar.update(len(idx))
    return results  # type: ignore[return-value]
