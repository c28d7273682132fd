"""Every value has one home: LoRA ranks and the precision choice in dialogsum_peft.settings, each
method's learning rate in the recipes (dialogsum_peft.recipes.LEARNING_RATES), the run's token
lengths, generation settings and seed as TrainConfig's field defaults (dialogsum_peft.config);
written there and nowhere else in src/ (read from the source, so a copy added anywhere in the
package fails here): every function below the config takes the value, with no default of its own."""

import ast
from pathlib import Path

import torch

from dialogsum_peft.command_line.loading import pick_dtype
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.hardware import DeviceInfo, recommend
from dialogsum_peft.recipes import LEARNING_RATES, RECIPES, SMOKE_RECIPE
from dialogsum_peft.settings import METHOD_SETTINGS, METHODS, precision_for, weights_dtype

SRC = Path(__file__).resolve().parents[1] / "src" / "dialogsum_peft"
DEFAULT_NAMES = {"learning_rate", "lora_r", "lora_alpha"}
# The run's values a function could restate as a default of its own (a signature's ``name=512``,
# a call's ``name=512`` or ``kwargs.get("name", 512)``): only TrainConfig's fields may say them.
RUN_VALUES = {"max_source_length", "max_target_length", "max_new_tokens", "num_beams", "seed"}


def _number(node) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    )


def _homes(found) -> dict[str, set[str]]:
    """``{name: modules}`` where ``found(tree)`` yields a name the module writes a value for."""
    homes: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for name in found(ast.parse(path.read_text(encoding="utf-8"))):
            homes.setdefault(name, set()).add(path.relative_to(SRC).with_suffix("").as_posix())
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
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id in DEFAULT_NAMES
            and node.value is not None
        ):
            value = (
                node.value.args[0]
                if isinstance(node.value, ast.Call) and node.value.args
                else node.value
            )
            if _number(value):
                yield node.target.id


def _precision_choices(tree):
    """A choice between bf16 and fp32: ``"bf16" if ... else "fp32"``, ``torch.bfloat16 if ... else
    torch.float32``, or an ``if`` that returns bf16 (a label such as ``'no bf16'`` is no choice)."""

    def is_bf16(n):
        return (isinstance(n, ast.Constant) and n.value == "bf16") or (
            isinstance(n, ast.Attribute) and n.attr == "bfloat16"
        )

    def is_fp32(n):
        return (isinstance(n, ast.Constant) and n.value == "fp32") or (
            isinstance(n, ast.Attribute) and n.attr == "float32"
        )

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.IfExp)
            and {is_bf16(node.body), is_fp32(node.orelse)} == {True}
            or isinstance(node, ast.IfExp)
            and {is_fp32(node.body), is_bf16(node.orelse)} == {True}
        ):
            yield "precision"
        elif isinstance(node, ast.If) and any(
            isinstance(s, ast.Return) and s.value is not None and is_bf16(s.value)
            for s in node.body
        ):
            yield "precision"


def _learning_rate_tables(tree):
    """A dict from every method's name to a number: a table of learning rates."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Dict)
            and {getattr(k, "value", None) for k in node.keys} == set(METHODS)
            and all(_number(v) for v in node.values)
        ):
            yield "learning_rate"


def _run_value_defaults(tree):
    """A number given to a run value anywhere but a TrainConfig field: a signature's default, a
    call's keyword, ``kwargs.get(name, number)``, or a field ``name: int = _f(number, ...)``."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            pairs = [
                *zip(positional[len(positional) - len(args.defaults) :], args.defaults),
                *zip(args.kwonlyargs, args.kw_defaults),
            ]
            yield from (
                a.arg for a, d in pairs if a.arg in RUN_VALUES and d is not None and _number(d)
            )
        elif isinstance(node, ast.keyword) and node.arg in RUN_VALUES and _number(node.value):
            yield node.arg
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "get"
            and len(node.args) == 2
            and getattr(node.args[0], "value", None) in RUN_VALUES
            and _number(node.args[1])
        ):
            yield node.args[0].value
        elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) in RUN_VALUES:
            yield f"{node.target.id} (field)"


def test_ranks_are_written_in_settings_and_learning_rates_in_the_recipes_only():
    assert _homes(_default_values) == {"lora_r": {"settings"}, "lora_alpha": {"settings"}}
    assert _homes(_learning_rate_tables) == {"learning_rate": {"recipes"}}


def test_the_run_values_are_written_as_trainconfig_defaults_only():
    """max_source_length (and max_target_length, max_new_tokens, num_beams, seed): one default,
    TrainConfig's field; the smoke preset's own value in the presets. Before: max_source_length's
    512 stood in 7 places (config.py and six signatures in data, evaluation, generation and
    distributed) and generation's defaults in five."""
    homes = _homes(_run_value_defaults)
    assert homes == {
        **{f"{name} (field)": {"config"} for name in RUN_VALUES},
        "max_new_tokens": {"presets"},
    }  # TrainConfig.smoke's 24: the preset's value


def test_precision_is_chosen_in_settings_only():
    assert _homes(_precision_choices) == {"precision": {"settings"}}


def test_every_reader_of_the_defaults_agrees_with_settings_and_the_recipes():
    lora = METHOD_SETTINGS["lora"]
    plain = TrainConfig()
    assert (plain.learning_rate, plain.lora_r, plain.lora_alpha, plain.lora_target_modules) == (
        LEARNING_RATES["lora"],
        lora["lora_r"],
        lora["lora_alpha"],
        lora["lora_target_modules"],
    )
    for method, values in METHOD_SETTINGS.items():
        for recipe in RECIPES:
            config = TrainConfig.auto(method=method, recipe=recipe)
            assert {k: getattr(config, k) for k in values} == values, method
            assert (
                config.learning_rate
                == RECIPES[recipe].learning_rates[method]
                == LEARNING_RATES[method]
            )
        assert (
            TrainConfig.smoke(method=method).learning_rate
            == SMOKE_RECIPE.learning_rates[method]
            == 3 * LEARNING_RATES[method]
        )
    a100 = DeviceInfo("cuda", "NVIDIA A100 80GB", 80.0, bf16=True)
    t4 = DeviceInfo("cuda", "Tesla T4", 15.0, bf16=False)
    for info in (a100, t4, DeviceInfo()):
        assert recommend(info).precision == precision_for(info.kind, info.bf16)
    assert precision_for("cuda", True) == "bf16" and precision_for("cpu", True) == "fp32"
    assert pick_dtype("cpu") is weights_dtype("fp32", "lora") is torch.float32
    assert weights_dtype("bf16", "full") is torch.float32  # fp32 master weights for full
