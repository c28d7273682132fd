"""The little bits of logic behind the tutorial notebook's cells, kept here so they are tested.

Why: the notebook shows the lesson itself as plain Hugging Face and peft code (``LoraConfig``,
``get_peft_model``, ``Seq2SeqTrainingArguments``, ``generate``, ``PeftModel.from_pretrained``);
what is left here is what would only be plumbing in a cell (choosing the settings, formatting a
report) or easy to get subtly wrong. The classic slip of a LoRA tutorial is comparing against a
"zero-shot" model that is no longer zero-shot: ``get_peft_model`` injects the LoRA layers *into
the base model object in place*, so after wrapping, the original ``model`` variable runs with the
adapter. Here the zero-shot outputs always come from
:func:`dialogsum_peft.zero_shot.zero_shot_model`: the base model inside the peft model with the
adapter disabled (``disable_adapter()`` alone still prepends prompt tuning's virtual tokens).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .config import DEFAULT_RECIPE, TrainConfig
from .hardware import DeviceInfo, describe_device

ZERO_SHOT = "zero-shot"
LORA = "LoRA"
OUTPUT_DIR_ENV = "DIALOGSUM_OUTPUT_DIR"
RUNTIME_HINT = "Runtime -> Change runtime type -> GPU"
DIALOGSUM_TRAIN_DIALOGUES = 12_460  # for the CPU warning of an epoch-based recipe

def library_versions() -> dict[str, str]:
    """Versions of the libraries the tutorial depends on."""
    import datasets
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "datasets": datasets.__version__}


def environment_report(info: DeviceInfo | None = None) -> str:
    """Library versions and the device, with a clear warning on a CPU-only runtime."""
    info = info or describe_device()
    lines = [f"{name:<13}{version}" for name, version in library_versions().items()]
    lines.append(f"python       {sys.version.split()[0]}")
    if info.kind == "cuda":
        lines.append(f"device       GPU: {info.name}, {info.total_memory_gib:.1f} GiB, "
                     f"{'bf16 supported' if info.bf16 else 'no bf16 (fp32 will be used)'}")
    else:
        lines.append("device       CPU only")
        lines.append(f"WARNING: no GPU. Full training would take hours here. In Colab: {RUNTIME_HINT} "
                     "(T4 is free), then run the notebook again from the top. The offline smoke "
                     "mode (DIALOGSUM_MODE=smoke) runs on a CPU in a few minutes.")
    return "\n".join(lines)


def repo_root() -> Path | None:
    """The repository this package was loaded from (a clone with ``pyproject.toml``), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def resolve_output_dir(output_dir: str | os.PathLike, env: str = OUTPUT_DIR_ENV) -> Path:
    """Where a run writes checkpoints and adapters.

    The environment variable ``DIALOGSUM_OUTPUT_DIR`` wins (tests and scripts use it); otherwise
    ``output_dir`` itself, a relative one taken from the repository root so the notebook writes
    to the same ``outputs/`` whatever folder it runs from. (Google Drive: see
    :func:`dialogsum_peft.checkpoints.drive_output_dir`.)
    """
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser().resolve()
    path = Path(output_dir).expanduser()
    if path.is_absolute():
        return path
    return (repo_root() or Path.cwd()) / path


def notebook_config(mode: str = "auto", recipe: str = DEFAULT_RECIPE, eval_size: int | None = None,
                    seed: int = 42, save_to_drive: bool = False) -> TrainConfig:
    """The run's :class:`TrainConfig` from the notebook's knob cell, announced in a few lines.

    Why here: choosing the preset, the output folder and the warnings is plumbing, not the
    lesson, and the configuration cell must stay a short list of knobs. ``mode`` is resolved by
    :func:`dialogsum_peft.offline.resolve_mode` (``DIALOGSUM_MODE`` wins). Smoke mode is
    ``TrainConfig.smoke`` (the tiny model's own short schedule; ``recipe`` does not apply); full
    mode is ``TrainConfig.auto(recipe=...)``: the recipe as it is, precision and batch split for
    this GPU, in a folder named after the recipe so switching recipes never mixes checkpoints.
    The folder is on Google Drive with ``save_to_drive``, otherwise :func:`resolve_output_dir`.
    Prints the mode line, then the smoke banner (the one place the notebook prints it) or, for a
    full run without a GPU, the warning with a time estimate.
    """
    from .checkpoints import drive_output_dir
    from .hardware import cpu_warning
    from .offline import resolve_mode, smoke_banner

    resolved = resolve_mode(mode)
    if resolved == "smoke":
        config = TrainConfig.smoke(eval_limit=eval_size, seed=seed)
    else:
        config = TrainConfig.auto(recipe=recipe, eval_limit=eval_size, seed=seed,
                                  output_dir=f"outputs/dialogsum-lora-{recipe}")
    run_name = Path(config.output_dir).name
    config.output_dir = (drive_output_dir(run_name) if save_to_drive
                         else str(resolve_output_dir(config.output_dir)))
    print(f"MODE={mode!r} -> running in {resolved.upper()} mode (preset {config.preset!r}, "
          f"recipe {config.recipe!r}), writing to {config.output_dir}")
    if config.is_smoke:
        print(smoke_banner())
    examples = (config.max_steps * config.effective_batch if config.max_steps > 0
                else round(config.num_train_epochs * DIALOGSUM_TRAIN_DIALOGUES))
    warning = cpu_warning(describe_device(), examples, smoke=config.is_smoke)
    if warning:
        print(warning)
    return config


def model_size_mb(model) -> float:
    """Size of a model's weights in memory, MB (shared tensors counted once)."""
    seen: set[int] = set()
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        total += tensor.numel() * tensor.element_size()
    return total / 1e6


def zero_shot_and_lora_summaries(peft_model, tokenizer, dialogues: Sequence[str],
                                 progress: bool = False, **gen_kwargs) -> dict[str, list[str]]:
    """Summaries of ``dialogues`` by the base model (:func:`~dialogsum_peft.zero_shot.zero_shot_model`)
    and by the peft model: ``{"zero-shot": [str], "LoRA": [str]}``, in input order."""
    from .generation import summarize
    from .zero_shot import zero_shot_model

    with zero_shot_model(peft_model) as base:
        zero_shot = summarize(base, tokenizer, dialogues, progress=progress,
                              desc=ZERO_SHOT, **gen_kwargs)
    lora = summarize(peft_model, tokenizer, dialogues, progress=progress, desc=LORA, **gen_kwargs)
    return {ZERO_SHOT: zero_shot, LORA: lora}


def evaluate_zero_shot_and_lora(peft_model, tokenizer, dataset, config, progress: bool = True):
    """ROUGE of the base model (:func:`~dialogsum_peft.zero_shot.zero_shot_model`) and of the
    peft model on the same dialogues: ``{"zero-shot": EvalResult, "LoRA": EvalResult}``.
    """
    from .evaluation import evaluate_model
    from .zero_shot import zero_shot_model

    kwargs = config.generation_kwargs()
    with zero_shot_model(peft_model) as base:
        zero_shot = evaluate_model(base, tokenizer, dataset, progress=progress,
                                   desc=f"{ZERO_SHOT} summaries", **kwargs)
    lora = evaluate_model(peft_model, tokenizer, dataset, progress=progress,
                          desc=f"{LORA} summaries", **kwargs)
    return {ZERO_SHOT: zero_shot, LORA: lora}


def example_report(dataset, index: int, summaries: Mapping[str, str], smoke: bool = False,
                   show_prompt: bool = False) -> str:
    """One test dialogue: its text (or the full prompt), the human summary, each model's summary
    with its own ROUGE against all the dialogue's references; the smoke banner on top in smoke mode.
    """
    from .data import build_prompt
    from .offline import smoke_banner
    from .reporting import format_example

    if not 0 <= index < len(dataset):
        raise IndexError(f"index {index} is outside the split (0 to {len(dataset) - 1})")
    row = dataset[index]
    text = build_prompt(row["dialogue"]) if show_prompt else row["dialogue"]
    header = f"test dialogue #{index} (id {row['id']}, {len(row['references'])} human reference(s))"
    body = format_example(text, row["summary"], summaries, row["references"])
    if show_prompt:
        body = body.replace("DIALOGUE:", "PROMPT (what the model reads):", 1)
    parts = [smoke_banner()] if smoke else []
    return "\n".join(parts + [header, body])


NOT_APPLICABLE = "—"  # a setting the method does not have


def _method_settings(config: TrainConfig) -> dict[str, str]:
    """The method's own settings; :data:`NOT_APPLICABLE` for what it does not have."""
    from .methods import T5_LINEAR_LAYERS, peft_config

    rank = targets = tokens = NOT_APPLICABLE
    if config.method in ("lora", "lora-all"):
        rank = f"{config.lora_r} (alpha {config.lora_alpha})"
        targets = ", ".join(config.lora_target_modules)
    elif config.method == "ia3":  # the layers its peft config really rescales
        layers = peft_config(config).target_modules  # a set: in the model's layer order
        targets = ", ".join(sorted(layers, key=lambda n: (T5_LINEAR_LAYERS + (n,)).index(n)))
    elif config.method == "prompt-tuning":
        tokens = str(config.num_virtual_tokens)
    elif config.method == "full":
        targets = "every weight"
    return {"LoRA rank r": rank, "target modules": targets, "virtual tokens": tokens}


def settings_table(configs: TrainConfig | Mapping[str, TrainConfig]):
    """The settings a learner should read, at most 12 rows (pandas DataFrame of strings): model,
    data, method and its own settings, learning rate, training length, effective batch (batch x
    accumulation), precision, token lengths, test dialogues scored.

    One config: one column, without the rows its method does not have. A mapping (name ->
    config): one column per method, :data:`NOT_APPLICABLE` where a setting does not apply. The
    full list is ``config.to_dict()``.
    """
    import pandas as pd

    single = isinstance(configs, TrainConfig)
    columns = {"setting": configs} if single else dict(configs)
    table = {}
    for name, c in columns.items():
        length = (f"{c.max_steps} steps" if c.max_steps > 0 else f"{c.num_train_epochs:g} epochs")
        table[name] = {
            "model": c.model_name, "data": c.dataset_source, "method": c.method,
            **_method_settings(c),
            "learning rate": f"{c.learning_rate:g}",
            "training length": length,
            "effective batch = batch x accumulation": f"{c.effective_batch} = "
            f"{c.per_device_train_batch_size} x {c.gradient_accumulation_steps}",
            "precision": c.precision,
            "tokens: prompt / summary": f"{c.max_source_length} / {c.max_target_length}",
            "test dialogues scored": "all" if c.eval_limit is None else str(c.eval_limit),
        }
    frame = pd.DataFrame(table)
    if single:
        frame = frame[frame["setting"] != NOT_APPLICABLE]
    return frame
