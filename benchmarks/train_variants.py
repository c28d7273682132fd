"""The variants ``train_throughput.py`` measures, each a set of TrainConfig overrides on a named
base (:mod:`variants`), and what the run aims at (``TARGETS``).
"""

from __future__ import annotations

from variants import BASELINE, CURRENT_DEFAULT, SDPA, Variant

FLEX_ON_CPU = (
    "flex_attention runs on GPUs only: PyTorch's FlexAttention has no CPU backward "
    "(training), and the project offers it for GPUs (TrainConfig help)"
)
FLOP_CONVENTION = (
    "training FLOPs per sample = 3 x forward matrix-multiply FLOPs "
    "(measuring.t5_forward_flops: 2 per multiply-add, the LoRA products included) at "
    "the unpadded token counts after truncation; padding is waste, not work"
)
TARGETS = {
    "speedup_vs_previous_default": 2.5,
    "same_effective_batch": True,
    "mfu_pct": 12.0,
    "peak_memory": "no higher than previous-default",
}

VARIANTS: dict[str, Variant] = {
    BASELINE: Variant(
        "the default recipe before the speed variants (2026-11), pinned: on a GPU bf16, effective "
        "batch 32, eager attention, fused AdamW, padding to multiples of 8, no "
        "dataloader workers"
    ),
    "default": CURRENT_DEFAULT,
    "sdpa": SDPA,
    "flex": Variant(
        "attn_implementation=flex_attention, pad_to_multiple_of=128 (FlexAttention "
        "compiles a kernel per shape)",
        dict(attn_implementation="flex_attention", pad_to_multiple_of=128),
        deadline_s=90,
        gpu_only=FLEX_ON_CPU,
    ),
    "pad128": Variant(
        "pad_to_multiple_of=128 alone: what the compile variants' padding costs without compiling",
        dict(pad_to_multiple_of=128),
    ),
    "compile-pad128": Variant(
        "torch_compile=True, pad_to_multiple_of=128 (few shapes to compile)",
        dict(torch_compile=True, pad_to_multiple_of=128),
        deadline_s=120,
    ),
    "compile-pad64": Variant(
        "torch_compile=True, pad_to_multiple_of=64",
        dict(torch_compile=True, pad_to_multiple_of=64),
        deadline_s=150,
    ),
    "adamw-fused": Variant("optim=adamw_torch_fused", dict(optim="adamw_torch_fused")),
    "adamw-unfused": Variant(
        "optim=adamw_torch (what the fused kernel gains)", dict(optim="adamw_torch")
    ),
    "workers4": Variant(
        "dataloader_num_workers=4, memory pinned (the Trainer's default)",
        dict(dataloader_num_workers=4),
    ),
    "workers4-unpinned": Variant(
        "dataloader_num_workers=4 and dataloader_pin_memory=False (a "
        "Trainer argument, not a TrainConfig setting)",
        dict(dataloader_num_workers=4),
        trainer_args=dict(dataloader_pin_memory=False),
    ),
    "compile-pad128-workers4": Variant(
        "compile-pad128 and workers4 together",
        dict(torch_compile=True, pad_to_multiple_of=128, dataloader_num_workers=4),
        deadline_s=120,
    ),
    "seed": Variant(
        "the original tutorial: fp32, batch 8 without accumulation, random order, "
        "no padding multiple, sdpa, plain AdamW",
        dict(
            precision="fp32",
            per_device_train_batch_size=8,
            gradient_accumulation_steps=1,
            optim="adamw_torch",
            train_sampling_strategy="random",
            pad_to_multiple_of=None,
            attn_implementation="sdpa",
        ),
        deadline_s=90,
    ),
    "peak": Variant(
        "previous-default with every example at the 512/128-token limits: the "
        "worst-case peak memory",
        worst_case=True,
        deadline_s=90,
    ),
    "colab-peak": Variant(
        "the Colab T4 preset (fp32, 8 x 4 accumulation) at the 512/128-token "
        "limits: the worst-case peak memory",
        base="colab",
        worst_case=True,
        deadline_s=90,
    ),
}
