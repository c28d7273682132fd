"""DialogSum loading, the instruction prompt, and the tokenized splits the Trainer reads.

Why this module exists: the original tutorial fine-tuned on bare dialogues but prompted with an
instruction at inference, and scored the Hub's test split row by row although each test dialogue
appears three times (once per human summary). Here one function builds the prompt for both
training and inference, and the loader groups repeated test dialogues into one row with all their
reference summaries, so every dialogue is generated once and scored against every reference.

Every split :func:`load_dialogsum` returns has the columns ``id, dialogue, summary, references,
topic``. Reading the files (decoding, JSON Lines, the :class:`DataError` of a bad input) is
:mod:`dialogsum_peft.inputs`; encoding text, :mod:`dialogsum_peft.tokenization`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import DataError, SplitMissingError, WrongTypeError
from .inputs import missing_split_message, read_split_file, split_files
from .settings import HUB_DATASET
from .tokenization import encode, warn_input_loss

SPLITS = ("train", "validation", "test")
COLUMNS = ("id", "dialogue", "summary", "references", "topic")

PROMPT_TEMPLATE = "Summarize the following conversation.\n\n{dialogue}\n\nSummary:"


def normalize_line_breaks(text: str) -> str:
    """``text`` with every line boundary Python knows (``str.splitlines``: CR, CRLF, U+2028, and
    the separators U+001C-U+001E, U+0085 ...) written as ``\\n``.

    Why: Flan-T5's tokenizer reads ``\\n`` as a space between two turns but deletes U+001E and
    its kind outright, so ``"#Person1#: Hi.\\x1e#Person2#: ..."`` reached the model as
    ``"Hi.#Person2#:"``: two turns glued into one word. Plain-text input was already split on
    them; a dialogue from JSON Lines or a data file was not.
    """
    return "\n".join(text.splitlines())


def build_prompt(dialogue: str) -> str:
    """The instruction prompt used for BOTH training inputs and inference inputs: the dialogue,
    stripped, its turns one per line (:func:`normalize_line_breaks`), inside
    :data:`PROMPT_TEMPLATE`. Raises :class:`~.errors.WrongTypeError` for anything but a string."""
    if not isinstance(dialogue, str):
        raise WrongTypeError(f"a dialogue is a string, got {type(dialogue).__name__}")
    return PROMPT_TEMPLATE.format(dialogue=normalize_line_breaks(dialogue.strip()))


# --------------------------------------------------------------------------------------------
# Row validation and normalisation
# --------------------------------------------------------------------------------------------


def _check_text(value: Any, where: str, field_name: str) -> str:
    if value is None:
        raise DataError(f"{where}: field '{field_name}' is missing")
    if not isinstance(value, str):
        raise DataError(
            f"{where}: field '{field_name}' must be a string, got {type(value).__name__}"
        )
    if not value.strip():
        raise DataError(f"{where}: field '{field_name}' is empty")
    return value


REFERENCE_RULE = (
    'one reference summary as "summary", or several as "summary1", "summary2", ... '
    "(numbered from 1, without gaps); the first is what training learns"
)


def _references_of(row: Mapping[str, Any], where: str) -> list[tuple[str, Any]]:
    """``(field, value)`` of every reference summary of a raw row, by :data:`REFERENCE_RULE`:
    ``summary`` alone (the Hub's files), or ``summary1..N`` (the original test file). A row with
    both, numbered fields with a gap, or neither is a :class:`DataError` naming ``where``."""
    numbered = sorted(
        (k for k in row if re.fullmatch(r"summary\d+", k)),
        key=lambda k: (int(k[len("summary") :]), k),
    )
    if "summary" in row and numbered:
        raise DataError(f'{where}: holds both "summary" and "{numbered[0]}"; give {REFERENCE_RULE}')
    if numbered:
        expected = [f"summary{i}" for i in range(1, len(numbered) + 1)]
        if numbered != expected:
            raise DataError(
                f"{where}: numbered summaries {', '.join(numbered)} do not run "
                f"summary1, summary2, ... without gaps; give {REFERENCE_RULE}"
            )
        return [(k, row[k]) for k in numbered]
    if "summary" not in row:
        raise DataError(
            f"{where}: field 'summary' is missing (the row has "
            f"{', '.join(map(repr, row)) or 'no fields'}); give {REFERENCE_RULE}"
        )
    return [("summary", row["summary"])]


def _topic_of(row: Mapping[str, Any]) -> str:
    topic = row.get("topic", row.get("topic1", ""))
    return topic if isinstance(topic, str) else ""


def normalize_rows(
    rows: Iterable[Mapping[str, Any]],
    split: str,
    *,
    group: bool,
    locations: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Validate raw rows and map them to ``id, dialogue, summary, references, topic``.

    ``summary`` is the training target and ``references`` every reference summary, by
    :data:`REFERENCE_RULE` (``summary``, or ``summary1``, ``summary2``, ...: the first is the
    target). ``locations`` (one per row, e.g. ``"data/train.jsonl, line 3"``) start each message.

    With ``group=True`` rows of one dialogue text become one row whose ``references`` hold every
    summary (the Hub's test split lists a dialogue once per reference). A bad row: DataError.
    """
    out: list[dict[str, Any]] = []
    by_dialogue: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        row_id = str(row.get("id") or row.get("fname") or f"#{i}")
        where = (f"{locations[i]}: " if locations else "") + f"split '{split}', row '{row_id}'"
        dialogue = _check_text(row.get("dialogue"), where, "dialogue")
        refs = [_check_text(value, where, name) for name, value in _references_of(row, where)]
        key = dialogue.strip()
        if group and key in by_dialogue:
            by_dialogue[key]["references"].extend(r.strip() for r in refs)
            continue
        # Hub test ids look like "test_0_1"; a grouped row keeps the shared stem "test_0".
        clean_id = (
            re.sub(r"_\d+$", "", row_id)
            if group and re.fullmatch(r"test_\d+_\d+", row_id)
            else row_id
        )
        new = {
            "id": clean_id,
            "dialogue": dialogue.strip(),
            "summary": refs[0].strip(),  # the training target: the first reference
            "references": [r.strip() for r in refs],
            "topic": _topic_of(row),
        }
        out.append(new)
        if group:
            by_dialogue[key] = new
    return out


def _to_dataset(rows: list[dict[str, Any]], split: str | None = None):
    """The rows as a ``datasets.Dataset`` that knows its split's name (``dataset.split``)."""
    import datasets

    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "dialogue": datasets.Value("string"),
            "summary": datasets.Value("string"),
            "references": datasets.Sequence(datasets.Value("string")),
            "topic": datasets.Value("string"),
        }
    )
    return datasets.Dataset.from_list(rows, features=features, split=split)


def load_dialogsum(source: str | os.PathLike = HUB_DATASET):
    """Load DialogSum as a ``datasets.DatasetDict`` with splits train/validation/test.

    ``source`` is a Hub dataset id (default ``knkarthick/dialogsum``; needs the Hub or its
    cache) or a local folder with, per split, the Hub export file (``train.jsonl``,
    ``validation.jsonl``, ``test.jsonl``) or the original DialogSum file
    (``dialogsum.train.jsonl``, ``dialogsum.dev.jsonl``, ``dialogsum.test.jsonl``); both for
    one split is refused. A split whose file is absent is missing from the result (indexing it
    is a :class:`~dialogsum_peft.errors.SplitMissingError` naming the folder and the file to
    add). Each row holds
    ``dialogue`` and its references by :data:`REFERENCE_RULE`. Validation and test rows
    repeating one dialogue are grouped into one multi-reference row. Every unusable input (a
    file given for the folder, a bad row) is a :class:`DataError` naming the file and line.
    """
    splits: dict[str, list[dict[str, Any]]] = {}
    locations: dict[str, list[str]] = {}
    path = Path(source)
    if path.is_dir():
        for split, file in split_files(path).items():
            splits[split], locations[split] = read_split_file(file)
    elif path.exists():
        raise DataError(
            f"{source} is a file, not a folder: put the dialogues in a folder as "
            "train.jsonl (optional: validation.jsonl, test.jsonl) and give the folder"
        )
    elif not _looks_like_hub_id(str(source)):
        raise DataError(f"dataset folder not found: {source} (nor is it a Hub id 'owner/name')")
    else:
        from .hub import load_hub_dataset

        raw = load_hub_dataset(str(source))
        splits = {s: list(raw[s]) for s in SPLITS if s in raw}

    out = {}
    for split, rows in splits.items():
        normalized = normalize_rows(
            rows, split, group=(split != "train"), locations=locations.get(split)
        )
        if not normalized:
            raise DataError(f"split '{split}' has no usable rows")
        out[split] = _to_dataset(normalized, split)
    loaded = _splits_type()(out)
    loaded.source = str(source)
    return loaded


@functools.lru_cache(maxsize=1)
def _splits_type():
    """The ``datasets.DatasetDict`` that :func:`load_dialogsum` returns (made on first use, so
    importing this module does not import ``datasets``): it knows its ``source``, and a split it
    does not have (``ds["test"]``) is a :class:`~dialogsum_peft.errors.SplitMissingError` that
    names the folder and its files (:func:`~dialogsum_peft.inputs.missing_split_message`)."""
    import datasets

    class DialogSumSplits(datasets.DatasetDict):
        source: str | None = None

        def __missing__(self, name):
            raise SplitMissingError(missing_split_message(self.source, name, list(self)))

        def __reduce__(self):  # pickled as the plain DatasetDict it is
            return datasets.DatasetDict, (dict(self),)

    return DialogSumSplits


def _looks_like_hub_id(text: str) -> bool:
    return bool(re.fullmatch(r"[\w.-]+/[\w.-]+", text))


def require_split(dataset_dict, name: str):
    """``dataset_dict[name]``, or a :class:`~dialogsum_peft.errors.SplitMissingError` (a
    DataError) naming the data it was loaded from (its ``source``, when it knows it), the files
    that would hold the split, and what it has."""
    if name not in dataset_dict:
        source = getattr(dataset_dict, "source", None)
        raise SplitMissingError(missing_split_message(source, name, list(dataset_dict)))
    return dataset_dict[name]


# --------------------------------------------------------------------------------------------
# Tokenized splits for training
# --------------------------------------------------------------------------------------------
TRAIN_COLUMNS = ("input_ids", "attention_mask", "labels")


def tokenize_split(dataset, tokenizer, *, max_source_length: int, max_target_length: int):
    """A split tokenized for seq2seq training, and what the cut and ``<unk>`` took from it.

    Inputs are the prompts (:func:`build_prompt`), labels the summaries (``text_target=``), each
    encoded once by :func:`~dialogsum_peft.tokenization.encode`, which cuts them to
    ``max_source_length``/``max_target_length`` tokens and measures them in the same pass. No
    padding here (the collator pads each batch). Returns the ``datasets.Dataset`` of
    :data:`TRAIN_COLUMNS` and ``{"dialogues": InputReport, "summaries": InputReport}``.
    """
    import datasets

    prompts = [build_prompt(d) for d in dataset["dialogue"]]
    targets = [normalize_line_breaks(s) for s in dataset["summary"]]  # a separator is a space
    input_ids, sources = encode(prompts, tokenizer, max_source_length)
    labels, summaries = encode(targets, tokenizer, max_target_length, target=True)
    tokenized = datasets.Dataset.from_dict(
        {
            "input_ids": input_ids,
            "attention_mask": [[1] * len(ids) for ids in input_ids],
            "labels": labels,
        }
    )
    return tokenized, {"dialogues": sources, "summaries": summaries}


def prepare_datasets(dataset_dict, tokenizer, config) -> dict:
    """The train (and validation, if present) splits the Trainer reads, tokenized by
    :func:`tokenize_split` with ``config``'s token lengths (the first ``config.train_limit``
    training dialogues, when set).

    What truncation and ``<unk>`` took from each split's dialogues and summaries is said through
    the same channel as at evaluation (:func:`~dialogsum_peft.tokenization.warn_input_loss`), and
    a :class:`~dialogsum_peft.recipes.ScheduleWarning` when a step-based recipe would pass more
    than 5 times over the training split (:func:`~dialogsum_peft.recipes.epochs_warning`).
    """
    from .recipes import warn_epochs
    from .settings import sample_data_dir

    require_split(dataset_dict, "train")
    out = {}
    for split in ("train", "validation"):
        if split not in dataset_dict:
            continue
        ds = dataset_dict[split]
        if split == "train" and config.train_limit:
            ds = ds.select(range(min(config.train_limit, len(ds))))
        out[split], reports = tokenize_split(
            ds,
            tokenizer,
            max_source_length=config.max_source_length,
            max_target_length=config.max_target_length,
        )
        for what, report in reports.items():
            warn_input_loss(report, f"{split} {what}")
    # the smoke preset's 30 steps on the shipped sample's 40 dialogues are meant to pass over it
    # several times: a pipeline check, not a model
    sized_for = (
        config.is_smoke and Path(config.dataset_source).resolve() == sample_data_dir().resolve()
    )
    if not sized_for:
        warn_epochs(config.max_steps, config.effective_batch, len(out["train"]))
    return out
