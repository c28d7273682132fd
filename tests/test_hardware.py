"""dialogsum_peft.hardware: batch tiers and precision per card, and the warning before a full run on a
CPU, with its estimate."""

import pytest

from dialogsum_peft.hardware import DeviceInfo, recommend


def test_cpu_warning_only_for_full_runs_on_cpu():
    from dialogsum_peft.hardware import DeviceInfo, cpu_warning

    msg = cpu_warning(DeviceInfo(), 8000, smoke=False)
    assert "no GPU" in msg and "hours" in msg and "DIALOGSUM_MODE=smoke" in msg
    assert cpu_warning(DeviceInfo(), 8000, smoke=True) is None
    assert cpu_warning(DeviceInfo("cuda", "T4", 15, False), 8000, smoke=False) is None


@pytest.mark.parametrize(
    "info, precision, batch",
    [
        (DeviceInfo(), "fp32", 8),
        (DeviceInfo("cuda", "Tesla T4", 14.7, bf16=False), "fp32", 8),
        (DeviceInfo("cuda", "Tesla V100-SXM2-32GB", 31.7, bf16=False), "fp32", 16),
        (DeviceInfo("cuda", "NVIDIA L4", 22.0, bf16=True), "bf16", 16),
        (DeviceInfo("cuda", "NVIDIA A100-SXM4-40GB", 39.4, bf16=True), "bf16", 32),
        (DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 79.2, bf16=True), "bf16", 64),
        (DeviceInfo("cuda", "NVIDIA H200", 139.8, bf16=True), "bf16", 128),
    ],
)
def test_recommendation_by_device(info, precision, batch):
    rec = recommend(info)
    assert (rec.precision, rec.train_batch_size) == (precision, batch)
    assert rec.eval_batch_size >= rec.train_batch_size
    assert rec.optim == ("adamw_torch_fused" if info.kind == "cuda" else "adamw_torch")


def test_every_tier_fits_its_smallest_card_in_the_worst_case():
    """Batch tiers stay within the measured worst-case memory per example, with headroom."""
    from dialogsum_peft.hardware import (
        _BF16_TIERS,
        _FP32_TIERS,
        MEMORY_HEADROOM,
        WORST_CASE_GIB_PER_EXAMPLE,
    )

    for precision, tiers in (("bf16", _BF16_TIERS), ("fp32", _FP32_TIERS)):
        for min_gib, batch, _ in tiers:
            card = max(min_gib, 15.0)  # the smallest card a tier can get is a 16 GB one
            assert batch * WORST_CASE_GIB_PER_EXAMPLE[precision] <= MEMORY_HEADROOM * card, (
                precision,
                batch,
            )


def test_cpu_warning_estimate_follows_measured_speed():
    from dialogsum_peft.hardware import CPU_TRAIN_SAMPLES_PER_S, DeviceInfo, cpu_warning

    msg = cpu_warning(DeviceInfo(), 8000, smoke=False)
    hours = 8000 / CPU_TRAIN_SAMPLES_PER_S / 3600
    assert f"roughly {hours:.0f} hours" in msg and "8,000 examples" in msg
