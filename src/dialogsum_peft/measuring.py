"""Measuring without the Hub: a model of flan-t5-base's exact shape, and the FLOPs of a T5 pass.

Why: speed and memory figures, parameter counts and the full-size rehearsal need flan-t5-base's
shape, not its weights, and the Hub is out of reach in tests and CI. A randomly initialised model
of the same shape has the same parameters and FLOPs; the FLOP count turns a measured speed into
an estimate for another card (marked as an estimate wherever shown). Used by the benchmarks, the
tests and the methods notebook's memory table; not by a training run.
"""

from __future__ import annotations

import torch


def flan_t5_base_config(vocab_size: int = 32128):
    """A ``T5Config`` with google/flan-t5-base's shape, for tests and benchmarks without the Hub."""
    from transformers import T5Config

    return T5Config(
        vocab_size=vocab_size,
        d_model=768,
        d_kv=64,
        d_ff=2048,
        num_layers=12,
        num_decoder_layers=12,
        num_heads=12,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )


def untie_lm_head(model):
    """Give ``model`` its own ``lm_head`` weight, as Flan-T5 checkpoints have.

    transformers 5 builds every T5 from a config with the output head tied to the input
    embeddings; loading google/flan-t5-base unties them again because its checkpoint holds two
    different matrices. Models built from a config for tests and benchmarks call this to get the
    same shape (247,577,856 parameters for flan-t5-base).
    """
    if model.lm_head.weight is model.shared.weight:
        model.lm_head.weight = torch.nn.Parameter(model.shared.weight.detach().clone())
        tied = getattr(model, "all_tied_weights_keys", None)
        if isinstance(tied, dict):
            tied.pop("lm_head.weight", None)
    return model


def flan_t5_base_shaped_model(
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    attn_implementation: str | None = None,
):
    """A randomly initialised model with flan-t5-base's exact shape (same FLOPs, no download).

    ``device="meta"`` allocates nothing, for counting parameters. ``attn_implementation``
    ("eager", "sdpa", ...) lets benchmarks compare attention kernels on the very model tests
    count; ``None`` keeps transformers' default, as a config-built model gets it.
    """
    from transformers import T5ForConditionalGeneration

    config = flan_t5_base_config()
    if attn_implementation:
        config._attn_implementation = attn_implementation
    with torch.device(device or "cpu"):
        model = T5ForConditionalGeneration(config)
    return untie_lm_head(model).to(dtype)


def t5_forward_flops(
    config, source_len: int, target_len: int, lora_r: int = 0, lora_targets=("q", "v")
) -> int:
    """Matrix-multiply FLOPs (2 per multiply-add) of one T5 forward pass on one example.

    Counts every projection, the attention score and mixing products, the gated FFN, the LM head
    and (with ``lora_r``) the LoRA products on q/v. Norms, softmax and activations are left out
    (well under 1%). Training is conventionally counted as 3x this (forward + backward).
    """
    d, inner, ff, vocab = (
        config.d_model,
        config.num_heads * config.d_kv,
        config.d_ff,
        config.vocab_size,
    )
    n_ff = 3 if getattr(config, "is_gated_act", False) else 2
    S, T = source_len, target_len

    def lora(tokens_q: int, tokens_v: int) -> int:
        if not lora_r:
            return 0
        per_token = 2 * lora_r * (d + inner)
        return per_token * (tokens_q * ("q" in lora_targets) + tokens_v * ("v" in lora_targets))

    enc_layer = 4 * 2 * S * d * inner + 2 * 2 * S * S * inner + n_ff * 2 * S * d * ff + lora(S, S)
    dec_layer = (
        4 * 2 * T * d * inner
        + 2 * 2 * T * T * inner
        + lora(T, T)  # self-attention
        + 2 * 2 * T * d * inner
        + 2 * 2 * S * d * inner
        + 2 * 2 * T * S * inner
        + lora(T, S)  # cross
        + n_ff * 2 * T * d * ff
    )
    return config.num_layers * enc_layer + config.num_decoder_layers * dec_layer + 2 * T * d * vocab
