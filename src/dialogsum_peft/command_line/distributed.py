"""Running the same command on one or several processes (``accelerate launch`` / ``torchrun``).

Why: training is data-parallel through the Trainer, which sets DDP up by itself when the
command is started by a launcher. Generation is not: ``model.generate`` runs wherever it is
called, so without care every process would summarize every dialogue (N times the work) and
write the same files. Here each process takes a contiguous share of the dialogues (accelerate's
``split_between_processes``), the shares are gathered back in their original order
(``gather_object``), and only the main process writes files or prints.

Everything also works in a plain single process (world size 1), where it is a no-op wrapper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..data import build_prompt
from ..generation import summarize_ids
from ..metrics import EvalResult, score_pairs
from ..offline import is_smoke_model
from ..tokenization import encode, warn_input_loss


def process_state():
    """The ``accelerate.PartialState`` of this run (sets up torch.distributed under a launcher).

    Without a CUDA GPU it is created with ``cpu=True``, as the Trainer does for ``use_cpu``:
    otherwise accelerate ignores ``torchrun``'s environment on a CPU machine and every process
    believes it is alone. The state is a singleton shared with the Trainer.
    """
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def finish(state=None) -> None:
    """Wait for every process, then shut the process group down cleanly (under a launcher).

    Call it at the end of a successful run: a process that exits while its peers still talk
    to it makes torch.distributed abort them.
    """
    state = state or process_state()
    if state.num_processes > 1:
        state.wait_for_everyone()
        state.destroy_process_group()


def map_in_order(fn: Callable[[Sequence], Iterable], items: Sequence, state=None) -> list:
    """``fn`` applied to this process's share of ``items``, every share gathered back in order.

    accelerate's ``split_between_processes`` gives each process a contiguous slice (a list slice,
    or a ``datasets.Dataset`` selection) and ``gather_object`` concatenates the results in rank
    order, so the output lines up with ``items``. ``fn`` gets a slice and returns one value per
    item; it is not called for an empty slice (fewer items than processes), since e.g.
    ``summarize`` refuses an empty list. Every process gets the full list back. Raises
    RuntimeError when the gathered count differs from the input count, so an example can never
    be silently dropped or duplicated.
    """
    from accelerate.utils import gather_object

    state = state or process_state()
    with state.split_between_processes(items) as mine:
        local = list(fn(mine)) if len(mine) else []
    gathered = gather_object(local) if state.num_processes > 1 else local
    if len(gathered) != len(items):
        raise RuntimeError(
            f"gathered {len(gathered)} results for {len(items)} inputs across "
            f"{state.num_processes} processes; examples were lost or duplicated"
        )
    return gathered


def distributed_summarize(
    model,
    tokenizer,
    dialogues: Sequence[str],
    state=None,
    *,
    max_source_length: int,
    use_prompt: bool = True,
    check_inputs: bool = True,
    progress: bool = True,
    **kwargs,
) -> list[str]:
    """:func:`dialogsum_peft.generation.summarize` with the dialogues split across processes.

    Returns every summary, in input order, on every process; identical to a single-process
    call with the same arguments. The dialogues are encoded once, in every process alike; the
    progress bar and the one warning about input the model cannot see (over every dialogue, not
    per share) show on the main process only.
    """
    state = state or process_state()
    texts = [build_prompt(d) for d in dialogues] if use_prompt else list(dialogues)
    encoded, inputs = encode(texts, tokenizer, max_source_length)
    if check_inputs and state.is_main_process:
        warn_input_loss(inputs)
    progress = progress and state.is_main_process
    return map_in_order(
        lambda part: summarize_ids(model, tokenizer, part, progress=progress, **kwargs),
        encoded,
        state,
    )


def distributed_evaluate(
    model,
    tokenizer,
    dataset,
    state=None,
    *,
    max_source_length: int,
    check_inputs: bool = True,
    progress: bool = True,
    **kwargs,
):
    """:func:`dialogsum_peft.evaluation.evaluate_model` with generation split across processes.

    The split is encoded once, in every process alike (``inputs`` measures all of it; only the
    main process warns); each process summarizes and scores a contiguous share; predictions and
    their pair scores are gathered in the original order, so every ROUGE protocol equals a
    single-process evaluation. Returned on every process.
    """
    state = state or process_state()
    encoded, inputs = encode(
        [build_prompt(d) for d in dataset["dialogue"]], tokenizer, max_source_length
    )
    if check_inputs and state.is_main_process:
        warn_input_loss(inputs, "dialogues of the split")
    progress = progress and state.is_main_process
    references = list(dataset["references"])

    def evaluate_share(rows):
        predictions = summarize_ids(
            model, tokenizer, [encoded[i] for i in rows], progress=progress, **kwargs
        )
        return zip(predictions, score_pairs(predictions, [references[i] for i in rows]))

    gathered = map_in_order(evaluate_share, list(range(len(encoded))), state)
    return EvalResult(
        [p for p, _ in gathered],
        [s for _, s in gathered],
        smoke=is_smoke_model(model),
        inputs=inputs,
    )
