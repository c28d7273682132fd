"""What ``train`` and ``export`` do, in the order that keeps a run safe, and what every command
shares (``evaluate`` and ``summarize``: :mod:`dialogsum_peft.command_line.generate`).

Why: every check that can fail runs before anything is loaded or written (settings, input and
adapter files, the output folder and who owns it); a run folder belongs to one run (``--resume``
continues it only with the same settings, ``--overwrite`` replaces it, a lock stops a second
training); results are written complete or not at all. Only the main process writes or prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import RunFolderError
from ..run_folder import is_complete_checkpoint
from . import run_outputs as ro
from .cli_config import CliError, resolve_config
from .loading import prepare_hub


# ------------------------------------------------------------------------------------ helpers
def say(state, *lines: str, file=None) -> None:
    if state.is_main_process:
        for line in lines:
            print(line, file=file or sys.stdout, flush=True)


def progress_bars() -> bool:
    """Whether this command shows progress bars: only on a terminal. When stderr goes to a file
    (a log, ``nohup``, a job scheduler) every bar is switched off, ours and those of transformers,
    datasets and huggingface_hub: a bar redraws itself with carriage returns, which a log file
    keeps as hundreds of half lines. The Trainer then prints one line per log instead."""
    if sys.stderr.isatty():
        return True
    import datasets
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    datasets.disable_progress_bars()
    disable_progress_bars()
    transformers_logging.disable_progress_bar()
    return False


def banner(state, config, file=None, data=None, doing: str = "reads") -> None:
    """The smoke banner: what the model is, then what the command does (``doing``) with ``data``
    (the config's dataset unless given)."""
    if config.is_smoke:
        from ..offline import smoke_banner

        say(state, smoke_banner(data or config.dataset_source, doing), file=file)


def load_data(config, state):
    from ..data import load_dialogsum

    with state.main_process_first():  # one Hub download, not one per process
        return load_dialogsum(config.dataset_source)


def load_base(config, state):
    from .loading import load_base_model

    with state.main_process_first():
        return load_base_model(config, device=state.device)


def warn_secrets(state, *paths: Path) -> None:
    """Warn (never fail) when a Hub token landed in files a run wrote."""
    from ..safety import scan_for_secrets

    if state.is_main_process:
        findings = scan_for_secrets([p for p in paths if p.exists()])
        for f in findings:
            print(
                f"warning: a Hub token was written to {f}: remove it before sharing the folder",
                file=sys.stderr,
            )


def make_trainer(model, tokenizer, datasets, config, callbacks=None, args=None, **arg_overrides):
    """A :class:`~dialogsum_peft.trainer.DialogSumTrainer` for ``model`` on ``datasets['train']``:
    ``train``'s trainer, built as the notebooks build theirs.

    ``datasets`` is the DatasetDict of :func:`dialogsum_peft.data.load_dialogsum` (tokenized
    here with the training prompt) or a dict of already tokenized splits. ``args``: training
    arguments already built by :func:`~dialogsum_peft.trainer.training_arguments` (else built here
    with ``arg_overrides``).
    """
    from ..data import prepare_datasets, require_split
    from ..trainer import DialogSumTrainer, data_collator, training_arguments

    train = require_split(datasets, "train")
    if "input_ids" not in getattr(train, "column_names", ["input_ids"]):
        datasets = prepare_datasets(datasets, tokenizer, config)
    args = args or training_arguments(config, **arg_overrides)
    return DialogSumTrainer(
        model=model,
        args=args,
        data_collator=data_collator(tokenizer, model, config),
        train_dataset=datasets["train"],
        eval_dataset=datasets.get("validation"),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


# ------------------------------------------------------------------------------------ train
def _checkpoint_to_resume(args, out: ro.TrainRunFolder, identity: dict) -> str | None:
    present = out.present()
    if args.resume is None:
        if present and not args.overwrite:
            raise RunFolderError(
                f"{out} already holds a run ({', '.join(present)}): add --resume "
                "to continue it with the same settings, or --overwrite to replace it"
            )
        return None
    if args.overwrite:
        raise CliError("give --resume or --overwrite, not both")
    if args.resume == "last":
        checkpoint = out.last_checkpoint()
        if checkpoint is None:
            raise RunFolderError(
                f"--resume: no complete checkpoint-N folder in {out / ro.CHECKPOINTS}"
            )
    else:
        checkpoint = args.resume
        if Path(checkpoint).resolve().parent != (out / ro.CHECKPOINTS).resolve():
            raise CliError(f"--resume: {checkpoint} is not a checkpoint of {out}/checkpoints")
        if not is_complete_checkpoint(checkpoint):
            raise RunFolderError(f"--resume: {checkpoint} is not a complete Trainer checkpoint")
    out.check_identity(identity)
    return checkpoint


def cmd_train(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    # One recipe whatever the launch: batch x accumulation is split over the processes (or
    # refused), and the run's identity records the world size, so a resume must match it.
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    run_config, identity = config.for_world_size(world_size), config.identity(world_size)
    out = ro.TrainRunFolder(config.output_dir)
    checkpoint = _checkpoint_to_resume(args, out, identity)
    prepare_hub(config)
    bars = progress_bars()  # on a terminal only
    from ..data import prepare_datasets, require_split
    from ..methods import apply_method
    from ..modeling import count_parameters
    from ..trainer import training_arguments
    from .distributed import finish, process_state

    state = process_state()
    # Everything that can fail on the user's input happens before the first write.
    dataset = load_data(config, state)
    banner(state, config, doing="trains on")
    require_split(dataset, "train")
    if getattr(args, "eval_steps", 0) and "validation" not in dataset:  # the flag, not a preset's
        raise CliError(
            f"--eval-steps: {config.dataset_source} has no validation split "
            "(validation.jsonl) to compute a validation loss on: add one, or drop "
            "--eval-steps (without it, no validation loss is computed)"
        )
    model, tokenizer = load_base(config, state)
    peft_model = apply_method(model, config, config.model_path)
    tokenized = prepare_datasets(dataset, tokenizer, config)
    # Every trained weight is used in every forward pass: no need for DDP's unused-weight search.
    # Built here, so a bad setting is refused before the folder is touched.
    train_args = training_arguments(
        config,
        ddp_find_unused_parameters=False,  # split as run_config
        disable_tqdm=not bars,
    )
    lock = out.lock().acquire() if state.is_main_process else None
    try:
        if lock is not None:
            _checkpoint_to_resume(args, out, identity)  # again, now that no other run can write
        state.wait_for_everyone()
        trainer = make_trainer(peft_model, tokenizer, tokenized, config, args=train_args)
        if state.is_main_process:
            if args.overwrite:
                out.clear()
            if checkpoint is None:
                out.write_identity(identity)
            config.save(out / ro.CONFIG)
            print(
                f"run folder: {out}  (method {config.method}, world size "
                f"{state.num_processes}, device {state.device}; effective batch "
                f"{config.effective_batch} = {run_config.per_device_train_batch_size} per device "
                f"x {run_config.gradient_accumulation_steps} accumulation x {world_size} "
                f"process{'es' if world_size > 1 else ''})"
            )
            print(count_parameters(peft_model))
            if checkpoint:
                print(f"resuming from {checkpoint}")
        result = trainer.train(resume_from_checkpoint=checkpoint)
        if trainer.is_world_process_zero():
            ro.write_training_outputs(
                trainer, peft_model, tokenizer, config, result, state.num_processes, out
            )
            banner(state, config, doing="trained it on")
        warn_secrets(state, out.path)
    finally:
        if lock is not None:
            lock.release()
    finish(state)
    return 0


# ------------------------------------------------------------------------------------ export
def cmd_export(args: argparse.Namespace) -> int:
    from .export import export, trained_base
    from .loading import check_trained_dir

    config = resolve_config(args, trained_base(check_trained_dir(args.adapter)))
    prepare_hub(config)
    progress_bars()  # none in a log file
    to = export(
        config,
        args.adapter,
        args.to,
        fmt=args.format,
        quantization=args.quantization,
        overwrite=args.overwrite,
    )
    print(f"exported {args.adapter} ({args.format}, {args.quantization or 'float32'}) to {to}")
    return 0
