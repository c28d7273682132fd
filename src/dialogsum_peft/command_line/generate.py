"""What ``evaluate`` and ``summarize`` do: the model the flags name (the base, an adapter on it, a
fully fine-tuned model, a CTranslate2 engine), checked before anything is loaded, generation split
across processes, results written complete or not at all. Only the main process writes or prints.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from ..atomic import write_text_atomic
from ..run_folder import check_writable
from .cli_config import CliError, resolve_config
from .commands import banner, load_base, load_data, progress_bars, warn_secrets
from .loading import prepare_hub


# ------------------------------------------------------------------------------------ evaluate
def _load_trained(config, state, trained: tuple[Path, str]):
    """The model ``train`` wrote: an adapter attached to the base (PeftModel.from_pretrained
    injects its layers into ``base`` in place), or a fully fine-tuned model from its folder."""
    from .loading import load_adapter

    path, method = trained
    if method != "full":
        model, tokenizer = load_base(config, state)
        return load_adapter(model, path, tokenizer), tokenizer
    from dataclasses import replace

    return load_base(replace(config, model_name=str(path)), state)


def _evaluate_models(
    config,
    state,
    trained,
    split,
    no_base: bool,
    backend: str = "transformers",
    quantization: str | None = None,
) -> dict:
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
            results[name] = distributed_evaluate(
                model, tokenizer, split, state, desc=f"{name} (ctranslate2)", **gen
            )
    elif trained is None or trained[1] == "full":
        if not no_base:
            model, tokenizer = load_base(config, state)
            results["base"] = distributed_evaluate(
                model, tokenizer, split, state, desc="base", **gen
            )
            del model
        if trained is not None:
            model, tokenizer = _load_trained(config, state, trained)
            results["full"] = distributed_evaluate(
                model, tokenizer, split, state, desc="full", **gen
            )
    else:
        model, tokenizer = _load_trained(config, state, trained)
        if not no_base:  # the base inside it, adapter off (prompt tuning's tokens too)
            from ..zero_shot import zero_shot_model

            with zero_shot_model(model) as base:
                results["base"] = distributed_evaluate(
                    base, tokenizer, split, state, desc="base (adapter off)", **gen
                )
        if config.merge_for_generation:
            from .loading import merged_copy

            model = merged_copy(model)
        results[trained[1]] = distributed_evaluate(
            model, tokenizer, split, state, desc=trained[1], **gen
        )
    return results


def _backend_source(args):
    """``--adapter`` checked for the chosen backend: (folder, method) or None (the base)."""
    from ..ctranslate2_backend import is_ctranslate2_dir
    from .export import check_ctranslate2_source
    from .loading import check_trained_dir

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
                raise CliError(
                    f"{flag} sets how PyTorch runs the model (--backend "
                    "transformers); the ctranslate2 backend runs its own kernels "
                    "in the weight type of --quantization: drop " + flag
                )
    if not config.merge_for_generation or args.backend == "ctranslate2":
        return
    method = trained[1] if trained else None
    if method not in (*MERGEABLE, "full", None):
        raise CliError(
            f"--merge-for-generation: {trained[0]} is a {method} adapter, which has "
            "no weights to merge (only LoRA and IA3 adapters do): leave it off"
        )
    if hasattr(args, "merge_for_generation") and method in ("full", None):
        what = f"{trained[0]} is a whole fine-tuned model" if trained else "no --adapter is given"
        raise CliError(
            f"--merge-for-generation merges a LoRA or IA3 --adapter, and {what}: leave it off"
        )


def _results_dir(args, config, trained) -> Path:
    """``--results-dir``; else ``<output-dir>/evaluation`` of the run the flags or ``--config``
    name; else, for an ``--adapter``, the evaluation folder of the run it belongs to
    (``runs/x/evaluation`` for ``runs/x/adapter``): the preset's default folder may hold
    another run, whose evaluation this one would replace."""
    if args.results_dir:
        return Path(args.results_dir)
    named = hasattr(args, "output_dir") or getattr(args, "config", None)
    if trained and not named:
        return Path(trained[0]).resolve().parent / "evaluation"
    return Path(config.output_dir) / "evaluation"


def cmd_evaluate(args: argparse.Namespace) -> int:
    config, trained = _config_and_source(args)
    if args.no_base and trained is None:
        raise CliError("--no-base needs --adapter (otherwise there is nothing to evaluate)")
    results_dir = check_writable(_results_dir(args, config, trained))
    prepare_hub(config)
    progress_bars()  # on a terminal only
    from ..data import require_split
    from ..evaluation import limit_split
    from ..metrics import UnscorableTextWarning
    from .distributed import finish, process_state

    state = process_state()
    dataset = load_data(config, state)
    banner(state, config, doing="scores it on")
    split = limit_split(require_split(dataset, args.split), config.eval_limit)
    with warnings.catch_warnings():  # said once, as a `warning:` line, with the results
        warnings.simplefilter("ignore", UnscorableTextWarning)
        results = _evaluate_models(
            config, state, trained, split, args.no_base, args.backend, args.quantization
        )
    if state.is_main_process:
        _write_evaluation_outputs(results, split, config, args, trained, results_dir)
        warn_secrets(state, results_dir)
        banner(state, config, doing="scored it on")
    finish(state)
    return 0


def _write_evaluation_outputs(results, split, config, args, trained, results_dir: Path) -> None:
    from ..metrics import unscorable_note
    from ..reporting import rouge_table
    from .evaluation_outputs import interval_warnings, write_evaluation

    info = {
        "split": args.split,
        "num_dialogues": len(split),
        "model": config.model_name,
        "adapter": str(trained[0]) if trained else None,
        "method": trained[1] if trained else None,
        "smoke": any(r.smoke for r in results.values()),
        "backend": args.backend,
        "quantization": args.quantization,
    }
    formats = ("csv", "jsonl") if args.predictions_format == "both" else (args.predictions_format,)
    write_evaluation(results_dir, results, split, info, config, formats)
    tuned = [name for name in results if name != "base"]
    both = "base" in results and tuned
    print(
        rouge_table(  # with each score's 95% interval, as the notebook's table
            results,
            baseline="base" if both else None,
            improved=tuned[0] if both else None,
            intervals=True,
        ).to_string()
    )
    if both:  # on how many dialogues, beside the average (dialogsum_peft.wins)
        from ..reporting import win_table

        print(win_table(results, "base", tuned[0]).to_string())
    _update_model_card(results, config, args, trained)
    print(f"results: {results_dir} (scores.json with every ROUGE protocol, predictions, rouge.png)")
    scores = json.loads((results_dir / "scores.json").read_text(encoding="utf-8"))
    for line in interval_warnings(scores):  # what the files say: no zero-width "95%" interval
        print(line, file=sys.stderr)
    texts = {
        "references": [r for refs in split["references"] for r in refs],
        **{f"{name} predictions": r.predictions for name, r in results.items()},
    }
    note = unscorable_note(texts)
    if note:
        print(f"warning: {note}", file=sys.stderr)


def _update_model_card(results, config, args, trained) -> None:
    """The evaluated adapter's card gets these results (a warning, never a failure, when its
    folder cannot be written)."""
    if not trained or not (Path(trained[0]) / "adapter_config.json").is_file():
        return
    from ..errors import AdapterError
    from ..sharing import write_model_card

    backend = args.backend + (f" ({args.quantization})" if args.quantization else "")
    try:
        card = write_model_card(
            trained[0],
            config,
            results[trained[1]],
            results.get("base"),
            split=args.split,
            trained_here=False,
            backend=backend,
        )
    except OSError as err:
        print(
            f"warning: the model card in {trained[0]} was not updated ({err.strerror})",
            file=sys.stderr,
        )
        return
    except AdapterError as err:  # a README.md someone wrote, or one that does not parse
        print(f"warning: the model card was not updated: {err}", file=sys.stderr)
        return
    print(f"model card: {card} (these results replace the ones it had)")


# ------------------------------------------------------------------------------------ summarize
def cmd_summarize(args: argparse.Namespace) -> int:
    from .summarize_input import read_dialogue_file

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
    # on stderr: stdout holds the summaries alone
    banner(state, config, sys.stderr, args.input, "summarizes the dialogues of")
    if args.backend == "ctranslate2":
        from .export import load_ctranslate2

        model, tokenizer = load_ctranslate2(config, trained, args.quantization)
    elif trained is None:
        model, tokenizer = load_base(config, state)
    else:
        model, tokenizer = _load_trained(config, state, trained)
        if config.merge_for_generation and trained[1] != "full":  # LoRA/IA3: _check_merge
            from .loading import merged_copy

            model = merged_copy(model)
    summaries = distributed_summarize(
        model,
        tokenizer,
        [r["dialogue"] for r in records],
        state,
        progress=args.output is not None and progress_bars(),
        **config.generation_kwargs(),
    )
    if state.is_main_process:
        if fmt == "jsonl":
            lines = [
                json.dumps({**r, "prediction": s}, ensure_ascii=False)
                for r, s in zip(records, summaries)
            ]
        else:
            lines = [" ".join(s.split()) for s in summaries]
        body = "\n".join(lines) + "\n"
        if args.output:
            write_text_atomic(Path(args.output), body)
            from ..wording import counted

            print(
                f"{counted(len(lines), 'summary', 'summaries')} written to {args.output}",
                file=sys.stderr,
            )
        else:
            sys.stdout.write(body)
            sys.stdout.flush()
    banner(state, config, sys.stderr, args.input, "summarizes the dialogues of")
    finish(state)
    return 0
