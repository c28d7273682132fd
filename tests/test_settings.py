"""dialogsum_peft.settings is the one home of the defaults: learning rates, LoRA ranks and the
precision choice are written there and nowhere else in src/ (read from the source, so a copy
added anywhere in the package fails here)."""

import ast
from pathlib import Path

import torch

from dialogsum_peft.config import TrainConfig
from dialogsum_peft.hardware import DeviceInfo, recommend
from dialogsum_peft.command_line.loading import pick_dtype
from dialogsum_peft.settings import METHOD_SETTINGS, precision_for, weights_dtype

SRC = Path(__file__).resolve().parents[1] / "src" / "dialogsum_peft"
DEFAULT_NAMES = {"learning_rate", "lora_r", "lora_alpha"}


def _number(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
        and not isinstance(node.value, bool)


def _homes(found) -> dict[str, set[str]]:
    """``{name: modules}`` where ``found(tree)`` yields a name the module writes a value for."""
    homes: dict[str, set[str]] = {}
    for path in sorted(SRC.glob("*.py")):
        for name in found(ast.parse(path.read_text(encoding="utf-8"))):
            homes.setdefault(name, set()).add(path.stem)
    return homes


def _default_values(tree):
    """Numbers given to a default name: ``name=1e-3`` (call keyword), ``{"name": 32}``,
    ``name: int = 32`` or ``name: int = _f(32, ...)`` (a field's default)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in DEFAULT_NAMES and _number(node.value):
            yield node.arg
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value in DEFAULT_NAMES and _number(value):
                    yield key.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id in DEFAULT_NAMES and node.value is not None:
            value = node.value.args[0] if isinstance(node.value, ast.Call) and node.value.args \
                else node.value
            if _number(value):
                yield node.target.id


def _precision_choices(tree):
    """A choice between bf16 and fp32: ``"bf16" if ... else "fp32"``, ``torch.bfloat16 if ... else
    torch.float32``, or an ``if`` that returns bf16 (a label such as ``'no bf16'`` is no choice)."""
    def is_bf16(n):
        return (isinstance(n, ast.Constant) and n.value == "bf16") or \
               (isinstance(n, ast.Attribute) and n.attr == "bfloat16")

    def is_fp32(n):
        return (isinstance(n, ast.Constant) and n.value == "fp32") or \
               (isinstance(n, ast.Attribute) and n.attr == "float32")
    for node in ast.walk(tree):
        if isinstance(node, ast.IfExp) and {is_bf16(node.body), is_fp32(node.orelse)} == {True} \
                or isinstance(node, ast.IfExp) and {is_fp32(node.body), is_bf16(node.orelse)} == {True}:
            yield "precision"
        elif isinstance(node, ast.If) and any(isinstance(s, ast.Return) and s.value is not None
                                              and is_bf16(s.value) for s in node.body):
            yield "precision"


def test_learning_rates_and_ranks_are_written_in_settings_only():
    assert _homes(_default_values) == {name: {"settings"} for name in DEFAULT_NAMES}


def test_precision_is_chosen_in_settings_only():
    assert _homes(_precision_choices) == {"precision": {"settings"}}


def test_every_reader_of_the_defaults_agrees_with_settings():
    lora = METHOD_SETTINGS["lora"]
    plain = TrainConfig()
    assert (plain.learning_rate, plain.lora_r, plain.lora_alpha, plain.lora_target_modules) == \
           (lora["learning_rate"], lora["lora_r"], lora["lora_alpha"], lora["lora_target_modules"])
    for method, values in METHOD_SETTINGS.items():
        config = TrainConfig.auto(method=method)
        assert {k: getattr(config, k) for k in values} == values, method
    a100 = DeviceInfo("cuda", "NVIDIA A100 80GB", 80.0, bf16=True)
    t4 = DeviceInfo("cuda", "Tesla T4", 15.0, bf16=False)
    for info in (a100, t4, DeviceInfo()):
        assert recommend(info).precision == precision_for(info.kind, info.bf16)
    assert precision_for("cuda", True) == "bf16" and precision_for("cpu", True) == "fp32"
    assert pick_dtype("cpu") is weights_dtype("fp32", "lora") is torch.float32
    assert weights_dtype("bf16", "full") is torch.float32  # fp32 master weights for full
