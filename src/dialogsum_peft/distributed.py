"""Running the same command on one or several processes (``accelerate launch`` / ``torchrun``).

Why: training is data-parallel through the Trainer, which sets DDP up by itself when the
command is started by a launcher. Generation is not: ``model.generate`` runs wherever it is
called, so without care every process would summarize every dialogue (N times the work) and
write the same files. Here each process takes a share of the dialogues, the shares are gathered
back in their original order, and only the main process writes files or prints.

Everything also works in a plain single process (world size 1), where it is a no-op wrapper.
"""

from __future__ import annotations

from collections.abc import Sequence


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


def shard_indices(n: int, rank: int, world_size: int) -> list[int]:
    """The indices of ``n`` items that process ``rank`` of ``world_size`` handles: rank::world_size.

    Every index in ``range(n)`` belongs to exactly one process; a process may get none when
    there are fewer items than processes.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    return list(range(rank, n, world_size))


def reassemble(pieces: Sequence[tuple[int, object]], n: int) -> list:
    """Put gathered ``(index, value)`` pairs back into a list of length ``n`` in index order.

    Raises if an index is missing, repeated or out of range, so a sharding bug can never
    silently drop or duplicate an example.
    """
    out: list = [None] * n
    seen: set[int] = set()
    for index, value in pieces:
        if not 0 <= index < n:
            raise RuntimeError(f"gathered index {index} is outside 0..{n - 1}")
        if index in seen:
            raise RuntimeError(f"example {index} was produced by more than one process")
        seen.add(index)
        out[index] = value
    if len(seen) != n:
        missing = sorted(set(range(n)) - seen)
        raise RuntimeError(f"{len(missing)} example(s) were lost while gathering: {missing[:10]}")
    return out


def gather_in_order(local: Sequence[tuple[int, object]], n: int, state=None) -> list:
    """Gather every process's ``(index, value)`` pairs and return all ``n`` values in order.

    Every process gets the full list back.
    """
    state = state or process_state()
    pieces = list(local)
    if state.num_processes > 1:
        from accelerate.utils import gather_object

        pieces = gather_object(pieces)
    return reassemble(pieces, n)


def distributed_summarize(model, tokenizer, dialogues: Sequence[str], state=None, **kwargs) -> list[str]:
    """:func:`dialogsum_peft.generation.summarize` with the dialogues split across processes.

    Returns every summary, in input order, on every process; identical to a single-process
    call with the same arguments. Progress bars show only on the main process.
    """
    from .generation import summarize

    state = state or process_state()
    dialogues = list(dialogues)
    mine = shard_indices(len(dialogues), state.process_index, state.num_processes)
    kwargs["progress"] = kwargs.get("progress", True) and state.is_main_process
    local: list[tuple[int, str]] = []
    if mine:
        preds = summarize(model, tokenizer, [dialogues[i] for i in mine], **kwargs)
        local = list(zip(mine, preds))
    return gather_in_order(local, len(dialogues), state)


def distributed_evaluate(model, tokenizer, dataset, state=None, **kwargs):
    """:func:`dialogsum_peft.evaluation.evaluate_model` with generation split across processes.

    Each process evaluates its share (``rank::world_size``) of ``dataset``; predictions and
    their pair scores are gathered in the original order, so every ROUGE protocol equals a
    single-process evaluation. Returned on every process.
    """
    from .evaluation import EvalResult, evaluate_model

    state = state or process_state()
    if state.num_processes == 1:
        return evaluate_model(model, tokenizer, dataset, **kwargs)
    kwargs["progress"] = kwargs.get("progress", True) and state.is_main_process
    mine = shard_indices(len(dataset), state.process_index, state.num_processes)
    local: list[tuple[int, tuple[str, list[dict[str, float]]]]] = []
    if mine:
        result = evaluate_model(model, tokenizer, dataset.select(mine), **kwargs)
        local = list(zip(mine, zip(result.predictions, result.pair_scores)))
    gathered = gather_in_order(local, len(dataset), state)
    predictions = [p for p, _ in gathered]
    return EvalResult(predictions, [s for _, s in gathered])
