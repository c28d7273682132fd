"""DialogSum loading, the instruction prompt, and tokenization for training.

Why this module exists: the original tutorial fine-tuned on bare dialogues but prompted with an
instruction at inference, and scored the Hub's test split row by row although each test dialogue
appears three times (once per human summary). Here one function builds the prompt for both
training and inference, and the loader groups repeated test dialogues into one row with all their
reference summaries, so every dialogue is generated once and scored against every reference.

Every split returned by :func:`load_dialogsum` has the columns
``id, dialogue, summary, references, topic``. Reading the files themselves (decoding, JSON Lines,
the :class:`DataError` every bad input raises) is :mod:`dialogsum_peft.inputs`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import HUB_DATASET
from .errors import DataError
from .inputs import json_lines, read_text

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
COLUMNS = ("id", "dialogue", "summary", "references", "topic")

# File names of the two local formats we read.
HUB_EXPORT_FILES = {"train": "train.jsonl", "validation": "validation.jsonl", "test": "test.jsonl"}
ORIGINAL_FILES = {
    "train": "dialogsum.train.jsonl",
    "validation": "dialogsum.dev.jsonl",
    "test": "dialogsum.test.jsonl",
}

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
    :data:`PROMPT_TEMPLATE`. Raises TypeError for anything but a string."""
    if not isinstance(dialogue, str):
        raise TypeError(f"build_prompt expects a dialogue string, got {type(dialogue).__name__}")
    return PROMPT_TEMPLATE.format(dialogue=normalize_line_breaks(dialogue.strip()))


@dataclass
class LoadReport:
    """What :func:`load_dialogsum` did besides loading: rows skipped and why."""

    skipped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        return sum(len(v) for v in self.skipped.values())


# --------------------------------------------------------------------------------------------
# Row validation and normalisation
# --------------------------------------------------------------------------------------------


def _check_text(value: Any, where: str, field_name: str) -> str:
    if value is None:
        raise DataError(f"{where}: field '{field_name}' is missing")
    if not isinstance(value, str):
        raise DataError(f"{where}: field '{field_name}' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise DataError(f"{where}: field '{field_name}' is empty")
    return value


REFERENCE_RULE = ('one reference summary as "summary", or several as "summary1", "summary2", ... '
                  '(numbered from 1, without gaps); the first is what training learns')


def _references_of(row: Mapping[str, Any], where: str) -> list[tuple[str, Any]]:
    """``(field, value)`` of every reference summary of a raw row, by :data:`REFERENCE_RULE`:
    ``summary`` alone (the Hub's files), or ``summary1..N`` (the original test file). A row with
    both, numbered fields with a gap, or neither is a :class:`DataError` naming ``where``."""
    numbered = sorted((k for k in row if re.fullmatch(r"summary\d+", k)),
                      key=lambda k: (int(k[len("summary"):]), k))
    if "summary" in row and numbered:
        raise DataError(f"{where}: holds both \"summary\" and \"{numbered[0]}\"; give "
                        f"{REFERENCE_RULE}")
    if numbered:
        expected = [f"summary{i}" for i in range(1, len(numbered) + 1)]
        if numbered != expected:
            raise DataError(f"{where}: numbered summaries {', '.join(numbered)} do not run "
                            f"summary1, summary2, ... without gaps; give {REFERENCE_RULE}")
        return [(k, row[k]) for k in numbered]
    if "summary" not in row:
        raise DataError(f"{where}: field 'summary' is missing (the row has "
                        f"{', '.join(map(repr, row)) or 'no fields'}); give {REFERENCE_RULE}")
    return [("summary", row["summary"])]


def _topic_of(row: Mapping[str, Any]) -> str:
    topic = row.get("topic", row.get("topic1", ""))
    return topic if isinstance(topic, str) else ""


def normalize_rows(
    rows: Iterable[Mapping[str, Any]], split: str, *, group: bool, skip_invalid: bool = False,
    report: LoadReport | None = None, locations: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Validate raw rows and map them to ``id, dialogue, summary, references, topic``.

    ``summary`` is the training target and ``references`` every reference summary, by
    :data:`REFERENCE_RULE` (``summary``, or ``summary1``, ``summary2``, ...: the first is the
    target). ``locations`` (one per row, e.g. ``"data/train.jsonl, line 3"``) start each message.

    With ``group=True`` rows that share the same dialogue text become one row whose
    ``references`` hold every summary (the Hub's test split lists each dialogue once per
    reference). Invalid rows raise :class:`DataError`, or are skipped and recorded in
    ``report`` when ``skip_invalid`` is set.
    """
    out: list[dict[str, Any]] = []
    by_dialogue: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        row_id = str(row.get("id") or row.get("fname") or f"#{i}")
        where = (f"{locations[i]}: " if locations else "") + f"split '{split}', row '{row_id}'"
        try:
            dialogue = _check_text(row.get("dialogue"), where, "dialogue")
            named = _references_of(row, where)
            refs = [_check_text(value, where, name) for name, value in named]
        except DataError as err:
            if not skip_invalid:
                raise
            if report is not None:
                report.skipped.setdefault(split, []).append(str(err))
            logger.warning("skipping invalid row: %s", err)
            continue
        key = dialogue.strip()
        if group and key in by_dialogue:
            by_dialogue[key]["references"].extend(r.strip() for r in refs)
            continue
        # Hub test ids look like "test_0_1"; a grouped row keeps the shared stem "test_0".
        clean_id = re.sub(r"_\d+$", "", row_id) if group and re.fullmatch(r"test_\d+_\d+", row_id) else row_id
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


def _read_jsonl(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The objects of one split file and where each is (``"FILE, line N"``); bad bytes, bad
    lines or no lines at all are a DataError."""
    lines = json_lines(read_text(path), path, '"dialogue" and "summary" fields')
    if not lines:
        raise DataError(f"{path}: no JSON lines (the file is empty; expected one object per line)")
    return [row for _, row in lines], [f"{path}, line {n}" for n, _ in lines]


def _split_files(folder: Path) -> dict[str, Path]:
    """Each split's file in ``folder``, in either naming (:data:`HUB_EXPORT_FILES`,
    :data:`ORIGINAL_FILES`, which may be mixed); two files for one split are a DataError."""
    found: dict[str, Path] = {}
    for names in (HUB_EXPORT_FILES, ORIGINAL_FILES):
        for split, name in names.items():
            # exists(), not is_file(): a folder named train.jsonl is an error, not a missing split
            if (folder / name).exists():
                if split in found:
                    raise DataError(f"{folder} holds two files for the '{split}' split "
                                    f"({found[split].name} and {name}): keep one")
                found[split] = folder / name
    if not found:
        expected = ", ".join(list(HUB_EXPORT_FILES.values()) + list(ORIGINAL_FILES.values()))
        raise DataError(f"no DialogSum files in {folder} (expected some of: {expected})")
    return found


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


def load_dialogsum(
    source: str | os.PathLike = HUB_DATASET, *, skip_invalid: bool = False,
    report: LoadReport | None = None,
):
    """Load DialogSum as a ``datasets.DatasetDict`` with splits train/validation/test.

    ``source`` is a Hub dataset id (default ``knkarthick/dialogsum``; needs the Hub or its
    cache) or a local folder with, per split, the Hub export file (``train.jsonl``,
    ``validation.jsonl``, ``test.jsonl``) or the original DialogSum file
    (``dialogsum.train.jsonl``, ``dialogsum.dev.jsonl``, ``dialogsum.test.jsonl``); both for
    one split is refused. A split whose file is absent is missing from the result. Each row holds
    ``dialogue`` and its references by :data:`REFERENCE_RULE`. Validation and test rows
    repeating one dialogue are grouped into one multi-reference row. Every unusable input (a
    file given for the folder, a bad row) is a :class:`DataError` naming the file and line.
    """
    import datasets

    splits: dict[str, list[dict[str, Any]]] = {}
    locations: dict[str, list[str]] = {}
    path = Path(source)
    if path.is_dir():
        for split, file in _split_files(path).items():
            splits[split], locations[split] = _read_jsonl(file)
    elif path.exists():
        raise DataError(f"{source} is a file, not a folder: put the dialogues in a folder as "
                        "train.jsonl (optional: validation.jsonl, test.jsonl) and give the folder")
    elif not _looks_like_hub_id(str(source)):
        raise DataError(f"dataset folder not found: {source} (nor is it a Hub id 'owner/name')")
    else:
        from .hub import load_hub_dataset

        raw = load_hub_dataset(str(source))
        splits = {s: list(raw[s]) for s in SPLITS if s in raw}

    out = {}
    for split, rows in splits.items():
        normalized = normalize_rows(
            rows, split, group=(split != "train"), skip_invalid=skip_invalid, report=report,
            locations=locations.get(split))
        if not normalized:
            raise DataError(f"split '{split}' has no usable rows")
        out[split] = _to_dataset(normalized, split)
    return datasets.DatasetDict(out)


def _looks_like_hub_id(text: str) -> bool:
    return bool(re.fullmatch(r"[\w.-]+/[\w.-]+", text))


def require_split(dataset_dict, name: str):
    """Return ``dataset_dict[name]`` or raise a :class:`DataError` that lists what exists."""
    if name not in dataset_dict:
        have = ", ".join(dataset_dict.keys()) or "none"
        raise DataError(f"the dataset has no '{name}' split (available: {have})")
    return dataset_dict[name]


# --------------------------------------------------------------------------------------------
# Tokenization
# --------------------------------------------------------------------------------------------


def _truncate(ids: list[int], max_length: int, eos_id: int | None) -> tuple[list[int], bool]:
    if len(ids) <= max_length:
        return ids, False
    if eos_id is not None and ids and ids[-1] == eos_id:
        return ids[: max_length - 1] + [eos_id], True
    return ids[:max_length], True


def tokenize_for_training(
    batch: Mapping[str, Sequence[str]], tokenizer, *, max_source_length: int,
    max_target_length: int,
) -> dict[str, list]:
    """Tokenize a batch for seq2seq training: prompted inputs, ``text_target=`` labels.

    No padding here (the collator pads each batch dynamically). Besides ``input_ids``,
    ``attention_mask`` and ``labels`` it returns boolean columns ``source_truncated`` and
    ``target_truncated`` so :func:`truncation_counts` can say how many examples were cut.
    Use with ``Dataset.map(..., batched=True)``.
    """
    prompts = [build_prompt(d) for d in batch["dialogue"]]
    targets = [normalize_line_breaks(s) for s in batch["summary"]]  # a separator is a space
    enc = tokenizer(prompts, text_target=targets, truncation=False, verbose=False)
    eos = tokenizer.eos_token_id
    input_ids, masks, labels, src_cut, tgt_cut = [], [], [], [], []
    for ids, lab in zip(enc["input_ids"], enc["labels"]):
        ids, s_cut = _truncate(list(ids), max_source_length, eos)
        lab, t_cut = _truncate(list(lab), max_target_length, eos)
        input_ids.append(ids)
        masks.append([1] * len(ids))
        labels.append(lab)
        src_cut.append(s_cut)
        tgt_cut.append(t_cut)
    return {
        "input_ids": input_ids,
        "attention_mask": masks,
        "labels": labels,
        "source_truncated": src_cut,
        "target_truncated": tgt_cut,
    }


def truncation_counts(tokenized) -> dict[str, int]:
    """How many examples of a tokenized split lost tokens: ``{'source': n, 'target': m, 'total': N}``."""
    return {
        "source": int(sum(tokenized["source_truncated"])),
        "target": int(sum(tokenized["target_truncated"])),
        "total": len(tokenized),
    }


def truncation_warning(counts: Mapping[str, int], max_source_length: int, max_target_length: int,
                       split: str = "train") -> str | None:
    """One line saying what truncation cut (``None`` when nothing was), for the CLI and notebook.

    Why: a cut dialogue loses its end, so the model trains on (or is scored on) conversations
    without their conclusion; a log line at INFO went unseen. The counts come from
    :func:`truncation_counts`.
    """
    cut = [(counts["source"], "dialogues", max_source_length, "max_source_length"),
           (counts["target"], "summaries", max_target_length, "max_target_length")]
    cut = [c for c in cut if c[0]]
    if not cut:
        return None
    what = " and ".join(f"{n} of {counts['total']} {split} {kind} (longer than {limit} tokens)"
                        for n, kind, limit, _ in cut)
    knobs = " / ".join(knob for *_, knob in cut)
    verb = "was" if len(cut) == 1 and cut[0][0] == 1 else "were"
    return f"warning: {what} {verb} truncated; raise {knobs} to keep them whole"


def tokenize_split(dataset, tokenizer, *, max_source_length: int, max_target_length: int,
                   desc: str = "tokenizing"):
    """Tokenize a whole split; log how many examples were truncated (WARNING if any were).

    The result keeps the ``source_truncated``/``target_truncated`` columns, so callers get the
    numbers with :func:`truncation_counts` and a line to print with :func:`truncation_warning`.
    """
    tokenized = dataset.map(
        tokenize_for_training,
        batched=True,
        fn_kwargs={
            "tokenizer": tokenizer,
            "max_source_length": max_source_length,
            "max_target_length": max_target_length,
        },
        remove_columns=dataset.column_names,
        desc=desc,
    )
    counts = truncation_counts(tokenized)
    logger.info(
        "%s: %d of %d dialogues truncated to %d tokens, %d of %d summaries to %d tokens",
        desc, counts["source"], counts["total"], max_source_length,
        counts["target"], counts["total"], max_target_length,
    )
    return tokenized
