"""What ``train``, ``evaluate``, ``summarize`` and ``export`` do, in the order that keeps a run safe.

Why: every check that can fail runs before anything is loaded or written (settings, input and
adapter files, the output folder and who owns it); a run folder belongs to one run (``--resume``
continues it only with the same settings, ``--overwrite`` replaces it, a lock stops a second
training); results are written complete or not at all. Only the main process writes or prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from . import run_folder as rf
from .checkpoints import check_writable, is_complete_checkpoint, write_text_atomic
from .cli_config import CliError, resolve_config
from .errors import RunFolderError
from .hub import prepare_hub

# ------------------------------------------------------------------------------------ helpers
def _say(state, *lines: str, file=None) -> None:
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


def _banner(state, config, file=None, data=None) -> None:
    """The smoke banner, naming what the command reads (``data``; the config's dataset)."""
    if config.is_smoke:
        from .offline import smoke_banner

        _say(state, smoke_banner(data or config.dataset_source), file=file)


def _load_dataset(config, state):
    from .data import load_dialogsum

    with state.main_process_first():  # one Hub download, not one per process
        return load_dialogsum(config.dataset_source)


def _load_base(config, state):
    from .modeling import load_base_model

    with state.main_process_first():
        return load_base_model(config, device=state.device)


def _warn_secrets(state, *paths: Path) -> None:
    """Warn (never fail) when a Hub token landed in files a run wrote."""
    from .safety import scan_for_secrets

    if state.is_main_process:
        findings = scan_for_secrets([p for p in paths if p.exists()])
        for f in findings:
            print(f"warning: a Hub token was written to {f}: remove it before sharing the folder",
                  file=sys.stderr)


# ------------------------------------------------------------------------------------ train
def _checkpoint_to_resume(args, out: rf.RunFolder, identity: dict) -> str | None:
    present = out.present()
    if args.resume is None:
        if present and not args.overwrite:
            raise RunFolderError(f"{out} already holds a run ({', '.join(present)}): add --resume "
                                 "to continue it with the same settings, or --overwrite to replace it")
        return None
    if args.overwrite:
        raise CliError("give --resume or --overwrite, not both")
    if args.resume == "last":
        checkpoint = out.last_checkpoint()
        if checkpoint is None:
            raise RunFolderError(f"--resume: no complete checkpoint-N folder in {out / rf.CHECKPOINTS}")
    else:
        checkpoint = args.resume
        if Path(checkpoint).resolve().parent != (out / rf.CHECKPOINTS).resolve():
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
    out = rf.RunFolder(config.output_dir)
    checkpoint = _checkpoint_to_resume(args, out, identity)
    prepare_hub(config)
    bars = progress_bars()  # on a terminal only
    from .data import require_split
    from .distributed import finish, process_state
    from .methods import apply_method
    from .modeling import count_parameters
    from .trainer import make_trainer, prepare_datasets, training_arguments

    state = process_state()
    # Everything that can fail on the user's input happens before the first write.
    dataset = _load_dataset(config, state)
    _banner(state, config)
    require_split(dataset, "train")
    if getattr(args, "eval_steps", 0) and "validation" not in dataset:  # the flag, not a preset's
        raise CliError(f"--eval-steps: {config.dataset_source} has no validation split "
                       "(validation.jsonl) to compute a validation loss on: add one, or drop "
                       "--eval-steps (without it, no validation loss is computed)")
    model, tokenizer = _load_base(config, state)
    peft_model = apply_method(model, config, config.model_path)
    tokenized = prepare_datasets(dataset, tokenizer, config)
    # Every trained weight is used in every forward pass: no need for DDP's unused-weight search.
    # Built here, so a bad setting is refused before the folder is touched.
    train_args = training_arguments(config, ddp_find_unused_parameters=False,  # split as run_config
                                    disable_tqdm=not bars)
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
            config.save(out / rf.CONFIG)
            print(f"run folder: {out}  (method {config.method}, world size "
                  f"{state.num_processes}, device {state.device}; effective batch "
                  f"{config.effective_batch} = {run_config.per_device_train_batch_size} per device "
                  f"x {run_config.gradient_accumulation_steps} accumulation x {world_size} "
                  f"process{'es' if world_size > 1 else ''})")
            print(count_parameters(peft_model))
            if checkpoint:
                print(f"resuming from {checkpoint}")
        result = trainer.train(resume_from_checkpoint=checkpoint)
        if trainer.is_world_process_zero():
            rf.write_training_outputs(trainer, peft_model, tokenizer, config, result,
                                      state.num_processes, out)
            _banner(state, config)
        _warn_secrets(state, out.path)
    finally:
        if lock is not None:
            lock.release()
    finish(state)
    return 0


# ------------------------------------------------------------------------------------ evaluate
def _load_trained(config, state, trained: tuple[Path, str]):
    """The model ``train`` wrote: an adapter attached to the base (PeftModel.from_pretrained
    injects its layers into ``base`` in place), or a fully fine-tuned model from its folder."""
    from .adapters import load_adapter

    path, method = trained
    if method != "full":
        model, tokenizer = _load_base(config, state)
        return load_adapter(model, path, tokenizer), tokenizer
    from dataclasses import replace

    return _load_base(replace(config, model_name=str(path)), state)


def _evaluate_models(config, state, trained, split, no_base: bool, backend: str = "transformers",
                     quantization: str | None = None) -> dict:
    """``{"base": EvalResult, <method>: EvalResult}``: the base model (loaded on its own, or the
    base inside the peft model; with CTranslate2 the plain base, converted) and the trained one,
    on ``split``."""
    from .distributed import distributed_evaluate

    gen = {**config.generation_kwargs(), "progress": progress_bars()}
    results = {}
    if backend == "ctranslate2":  # the zero-shot row from the plain base, converted
        from .export import load_ctranslate2

        rows = ([] if no_base else [("base", None)]) + ([(trained[1], trained)] if trained else [])
        for name, source in rows:
            model, tokenizer = load_ctranslate2(config, source, quantization)
            results[name] = distributed_evaluate(model, tokenizer, split, state,
                                                 desc=f"{name} (ctranslate2)", **gen)
    elif trained is None or trained[1] == "full":
        if not no_base:
            model, tokenizer = _load_base(config, state)
            results["base"] = distributed_evaluate(model, tokenizer, split, state, desc="base", **gen)
            del model
        if trained is not None:
            model, tokenizer = _load_trained(config, state, trained)
            results["full"] = distributed_evaluate(model, tokenizer, split, state, desc="full", **gen)
    else:
        model, tokenizer = _load_trained(config, state, trained)
        if not no_base:  # the base inside it, adapter off (prompt tuning's tokens too)
            from .zero_shot import zero_shot_model

            with zero_shot_model(model) as base:
                results["base"] = distributed_evaluate(base, tokenizer, split, state,
                                                       desc="base (adapter off)", **gen)
        if config.merge_for_generation:
            from .adapters import merged_copy

            model = merged_copy(model)
        results[trained[1]] = distributed_evaluate(model, tokenizer, split, state,
                                                   desc=trained[1], **gen)
    return results


def _backend_source(args):
    """``--adapter`` checked for the chosen backend: (folder, method) or None (the base)."""
    from .adapters import check_trained_dir
    from .ctranslate2_backend import is_ctranslate2_dir
    from .export import check_ctranslate2_source

    if args.backend == "ctranslate2":
        return check_ctranslate2_source(args.adapter)
    if args.quantization:
        raise CliError("--quantization applies to --backend ctranslate2")
    if args.adapter and is_ctranslate2_dir(args.adapter):
        raise CliError(f"{args.adapter} is a CTranslate2 model: add --backend ctranslate2")
    return check_trained_dir(args.adapter) if args.adapter else None


def _config_and_source(args):
    """(config, ``--adapter`` checked for the backend): the base is the one the adapter was
    trained on, or refused when the flags name another (before anything is loaded)."""
    from .export import trained_base

    trained = _backend_source(args)
    config = resolve_config(args, trained_base(trained))
    _check_generation_flags(args, config, trained)
    return config, trained


def _check_generation_flags(args, config, trained) -> None:
    """Generation flags only where they can apply, refused before any model is loaded:
    ``--precision`` and ``--attn-implementation`` with the transformers backend only;
    ``--merge-for-generation`` with a LoRA or IA3 adapter only (a prompt-tuning adapter used to
    fail after the base row was generated; the ctranslate2 backend always runs merged weights)."""
    from .export import MERGEABLE

    if args.backend == "ctranslate2":
        for name in ("precision", "attn_implementation"):  # torch settings: nothing reads them
            if hasattr(args, name):
                flag = "--" + name.replace("_", "-")
                raise CliError(f"{flag} sets how PyTorch runs the model (--backend "
                               "transformers); the ctranslate2 backend runs its own kernels "
                               "in the weight type of --quantization: drop " + flag)
    if not config.merge_for_generation or args.backend == "ctranslate2":
        return
    method = trained[1] if trained else None
    if method not in (*MERGEABLE, "full", None):
        raise CliError(f"--merge-for-generation: {trained[0]} is a {method} adapter, which has "
                       "no weights to merge (only LoRA and IA3 adapters do): leave it off")
    if hasattr(args, "merge_for_generation") and method in ("full", None):
        what = (f"{trained[0]} is a whole fine-tuned model" if trained
                else "no --adapter is given")
        raise CliError(f"--merge-for-generation merges a LoRA or IA3 --adapter, and {what}: "
                       "leave it off")


def cmd_evaluate(args: argparse.Namespace) -> int:
    config, trained = _config_and_source(args)
    if args.no_base and trained is None:
        raise CliError("--no-base needs --adapter (otherwise there is nothing to evaluate)")
    results_dir = check_writable(args.results_dir or Path(config.output_dir) / "evaluation")
    prepare_hub(config)
    progress_bars()  # on a terminal only
    from .data import require_split
    from .distributed import finish, process_state
    from .evaluation import limit_split
    from .metrics import UnscorableTextWarning

    state = process_state()
    dataset = _load_dataset(config, state)
    _banner(state, config)
    split = limit_split(require_split(dataset, args.split), config.eval_limit)
    with warnings.catch_warnings():  # said once, as a `warning:` line, with the results
        warnings.simplefilter("ignore", UnscorableTextWarning)
        results = _evaluate_models(config, state, trained, split, args.no_base, args.backend,
                                   args.quantization)
    if state.is_main_process:
        _write_evaluation_outputs(results, split, config, args, trained, results_dir)
        _warn_secrets(state, results_dir)
        _banner(state, config)
    finish(state)
    return 0


def _write_evaluation_outputs(results, split, config, args, trained, results_dir: Path) -> None:
    from .run_folder import write_evaluation
    from .metrics import unscorable_note
    from .reporting import rouge_table

    info = {"split": args.split, "num_dialogues": len(split), "model": config.model_name,
            "adapter": str(trained[0]) if trained else None,
            "method": trained[1] if trained else None,
            "smoke": any(r.smoke for r in results.values()),
            "backend": args.backend, "quantization": args.quantization}
    formats = ("csv", "jsonl") if args.predictions_format == "both" else (args.predictions_format,)
    write_evaluation(results_dir, results, split, info, config, formats)
    tuned = [name for name in results if name != "base"]
    both = "base" in results and tuned
    print(rouge_table(results, baseline="base" if both else None,
                      improved=tuned[0] if both else None).to_string())
    if both:  # on how many dialogues, beside the average (dialogsum_peft.wins)
        from .reporting import win_table

        print(win_table(results, "base", tuned[0]).to_string())
    _update_model_card(results, config, args, trained)
    print(f"results: {results_dir} (scores.json with every ROUGE protocol, predictions, rouge.png)")
    from .evaluation import interval_warnings

    scores = json.loads((results_dir / "scores.json").read_text(encoding="utf-8"))
    for line in interval_warnings(scores):  # what the files say: no zero-width "95%" interval
        print(line, file=sys.stderr)
    texts = {"references": [r for refs in split["references"] for r in refs],
             **{f"{name} predictions": r.predictions for name, r in results.items()}}
    note = unscorable_note(texts)
    if note:
        print(f"warning: {note}", file=sys.stderr)


def _update_model_card(results, config, args, trained) -> None:
    """The evaluated adapter's card gets these results (a warning, never a failure, when its
    folder cannot be written)."""
    if not trained or not (Path(trained[0]) / "adapter_config.json").is_file():
        return
    from .adapters import write_model_card
    from .errors import AdapterError

    backend = args.backend + (f" ({args.quantization})" if args.quantization else "")
    try:
        card = write_model_card(trained[0], config, results[trained[1]], results.get("base"),
                                split=args.split, trained_here=False, backend=backend)
    except OSError as err:
        print(f"warning: the model card in {trained[0]} was not updated ({err.strerror})",
              file=sys.stderr)
        return
    except AdapterError as err:  # a README.md someone wrote, or one that does not parse
        print(f"warning: the model card was not updated: {err}", file=sys.stderr)
        return
    print(f"model card: {card} (these results replace the ones it had)")


# ------------------------------------------------------------------------------------ summarize
def cmd_summarize(args: argparse.Namespace) -> int:
    from .inputs import read_dialogue_file

    config, trained = _config_and_source(args)
    records, is_jsonl = read_dialogue_file(args.input)
    if args.output:
        if Path(args.output).is_dir():
            raise CliError(f"--output {args.output} is a folder; give a file name")
        check_writable(Path(args.output).parent)
    fmt = args.format or ("jsonl" if is_jsonl or (args.output or "").endswith(".jsonl") else "text")
    prepare_hub(config)
    progress_bars()  # on a terminal only
    from .distributed import distributed_summarize, finish, process_state

    state = process_state()
    _banner(state, config, file=sys.stderr, data=args.input)  # stdout: the summaries alone
    if args.backend == "ctranslate2":
        from .export import load_ctranslate2

        model, tokenizer = load_ctranslate2(config, trained, args.quantization)
    elif trained is None:
        model, tokenizer = _load_base(config, state)
    else:
        model, tokenizer = _load_trained(config, state, trained)
        if config.merge_for_generation and trained[1] != "full":  # LoRA/IA3: _check_merge
            from .adapters import merged_copy

            model = merged_copy(model)
    summaries = distributed_summarize(model, tokenizer, [r["dialogue"] for r in records], state,
                                      progress=args.output is not None and progress_bars(),
                                      **config.generation_kwargs())
    if state.is_main_process:
        if fmt == "jsonl":
            lines = [json.dumps({**r, "prediction": s}, ensure_ascii=False)
                     for r, s in zip(records, summaries)]
        else:
            lines = [" ".join(s.split()) for s in summaries]
        body = "\n".join(lines) + "\n"
        if args.output:
            write_text_atomic(Path(args.output), body)
            from .display import counted

            print(f"{counted(len(lines), 'summary', 'summaries')} written to {args.output}",
                  file=sys.stderr)
        else:
            sys.stdout.write(body)
            sys.stdout.flush()
    _banner(state, config, file=sys.stderr, data=args.input)
    finish(state)
    return 0


# ------------------------------------------------------------------------------------ export
def cmd_export(args: argparse.Namespace) -> int:
    from .adapters import check_trained_dir
    from .export import export, trained_base

    config = resolve_config(args, trained_base(check_trained_dir(args.adapter)))
    prepare_hub(config)
    progress_bars()  # none in a log file
    to = export(config, args.adapter, args.to, fmt=args.format, quantization=args.quantization,
                overwrite=args.overwrite)
    print(f"exported {args.adapter} ({args.format}, {args.quantization or 'float32'}) to {to}")
    return 0
