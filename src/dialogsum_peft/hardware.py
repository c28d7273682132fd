"""What accelerator we run on, and the training settings that suit it.

Why: the same tutorial runs on a free Colab T4 (16 GB, no bf16: fp32 and a small batch), on an
A100/H100 (bf16, batches of 64+) and on a laptop CPU. Presets derive precision and batch sizes
from a :class:`DeviceInfo`, which tests can fake, instead of hard-coding one GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings import precision_for


@dataclass(frozen=True)
class DeviceInfo:
    """The facts about a device that training settings depend on."""

    kind: str = "cpu"  # "cuda" or "cpu"
    name: str = "cpu"
    total_memory_gib: float = 0.0
    bf16: bool = False

    @property
    def label(self) -> str:
        if self.kind == "cpu":
            return "CPU"
        return (
            f"{self.name} ({self.total_memory_gib:.0f} GiB, {'bf16' if self.bf16 else 'no bf16'})"
        )


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    import importlib.util
    import sys

    if "google.colab" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


def describe_device(index: int = 0) -> DeviceInfo:
    """The current CUDA device (or the CPU) as a :class:`DeviceInfo`."""
    import torch  # here, not at the top: the parser's defaults need only DeviceInfo and recommend

    if not torch.cuda.is_available():
        return DeviceInfo()
    props = torch.cuda.get_device_properties(index)
    return DeviceInfo(
        kind="cuda",
        name=props.name,
        total_memory_gib=props.total_memory / 2**30,
        bf16=torch.cuda.is_bf16_supported(),
    )


@dataclass(frozen=True)
class Recommendation:
    precision: str  # "bf16" or "fp32"
    train_batch_size: int
    eval_batch_size: int
    optim: str
    reason: str


# (minimum GiB, train batch, eval batch) for bf16-capable GPUs, largest first. Each tier keeps
# the worst case (every example at the 512/128-token limits) under MEMORY_HEADROOM of the card,
# from the peak memory per example measured on an H200 ("Worst-case memory" in
# benchmarks/README.md: bf16 batch 128 and fp32 batch 8).
WORST_CASE_GIB_PER_EXAMPLE = {"bf16": 111.4 / 128, "fp32": 9.1 / 8}
MEMORY_HEADROOM = 0.85  # use at most this share of a card's memory in the worst case
_BF16_TIERS = ((132, 128, 256), (70, 64, 192), (36, 32, 128), (18, 16, 64), (0, 8, 32))
# fp32 GPUs (T4, V100, P100): no bf16 tensor cores.
_FP32_TIERS = ((24, 16, 64), (0, 8, 32))


def recommend(info: DeviceInfo) -> Recommendation:
    """Precision, batch sizes and optimizer for a device (never fp16: T5 overflows in it)."""
    if info.kind != "cuda":
        return Recommendation(
            precision_for(info.kind, info.bf16),
            8,
            8,
            "adamw_torch",
            "CPU: fp32, small batches (training is slow: use a GPU runtime)",
        )
    tiers = _BF16_TIERS if info.bf16 else _FP32_TIERS
    for min_gib, train_bs, eval_bs in tiers:
        if info.total_memory_gib >= min_gib:
            precision = precision_for(info.kind, info.bf16)
            return Recommendation(
                precision,
                train_bs,
                eval_bs,
                "adamw_torch_fused",
                f"{info.label}: {precision}, batch {train_bs} for >= {min_gib} GiB",
            )
    raise AssertionError("unreachable: the last tier starts at 0 GiB")  # pragma: no cover


def estimated_minutes(n_examples: int, samples_per_second: float) -> float:
    return n_examples / max(samples_per_second, 1e-9) / 60


# flan-t5-base LoRA training speed on a 2-core CPU, examples per second, measured ("CPU
# training speed" in benchmarks/README.md); used only to warn people before an hours-long CPU
# run. Real dialogues are longer than the measurement's, so the estimate is a lower bound.
CPU_TRAIN_SAMPLES_PER_S = 1.3


def cpu_warning(info: DeviceInfo, n_examples: int, smoke: bool) -> str | None:
    """A clear warning (with an estimate) when a full run is about to train on a CPU."""
    if info.kind == "cuda" or smoke:
        return None
    minutes = estimated_minutes(n_examples, CPU_TRAIN_SAMPLES_PER_S)
    return (
        f"WARNING: no GPU found. Training flan-t5-base on {n_examples:,} examples on this CPU "
        f"would take roughly {minutes / 60:.0f} hours. In Colab choose Runtime -> Change "
        "runtime type -> GPU (T4), or set DIALOGSUM_MODE=smoke to check the pipeline only."
    )
