"""dialogsum_peft.tokenization: input the model does not see (truncation, characters mapped to
<unk>), measured in the pass that encodes it, is said through one channel (InputLossWarning) at
every place input reaches the model, training included, and recorded in scores.json."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from conftest import gen, lora, needs_shared
from dialogsum_peft.command_line.cli import main
from dialogsum_peft.command_line.distributed import distributed_evaluate, distributed_summarize
from dialogsum_peft.command_line.run_outputs import save_adapter
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.data import build_prompt, prepare_datasets
from dialogsum_peft.evaluation import (
    evaluate_model,
    evaluate_zero_shot_and_lora,
    limit_split,
    zero_shot_and_lora_summaries,
)
from dialogsum_peft.generation import summarize
from dialogsum_peft.tokenization import InputLossWarning, measure_inputs

FLAN_TOKENIZER = Path(__file__).resolve().parents[2] / "shared" / "flan-t5-tokenizer"
# ~2,000 words in 121 turns; the conclusion is the last turn (the issue's example)
LONG = (
    "\n".join(
        f"#Person{1 + i % 2}#: we still need to talk about the budget for item {i} "
        "and what the team thinks of it"
        for i in range(120)
    )
    + "\n#Person1#: So we agree: we cancel the project."
)
CODE = "#Person1#: Use the code {SAVE10} at checkout 😀\n#Person2#: Thanks!"
SHORT = "#Person1#: Hi, how are you?\n#Person2#: Fine, thanks."


def _lossy(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, InputLossWarning)]


@pytest.mark.skipif(not FLAN_TOKENIZER.is_dir(), reason=needs_shared("flan-t5-tokenizer"))
def test_measure_inputs_with_the_real_flan_t5_tokenizer():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(FLAN_TOKENIZER)
    prompts = [build_prompt(d) for d in (LONG, CODE, SHORT)]
    lengths = [len(tok(p).input_ids) for p in prompts]
    report = measure_inputs(prompts, tok, 512)
    assert lengths[0] > 512 >= max(lengths[1:])
    assert (report.dialogues, report.truncated, report.tokens_cut, report.longest) == (
        3,
        1,
        lengths[0] - 512,
        lengths[0],
    )
    # Flan-T5 has no "{", "}" nor this emoji: 3 characters become <unk>
    assert (report.with_unknown, report.chars_lost) == (1, 3)
    assert report.lost_examples == ["{", "}", "😀"]
    assert report.lengths == lengths and "lengths" not in report.to_dict()  # per input, in order
    assert "1 of 3 dialogues is longer than max_source_length=512" in report.message()
    assert measure_inputs([build_prompt(SHORT)], tok, 512).message() is None
    # one text: "the dialogue is", never "1 of 1 dialogues is" (the Try-it cell's one dialogue)
    alone = measure_inputs([prompts[0]], tok, 512)
    assert alone.message().startswith("the dialogue is longer than max_source_length=512")
    assert alone.message("train summaries").startswith("the train summary is longer")


def test_library_generation_and_evaluation_warn_and_record(tiny, sample):
    model, tok = tiny
    # Before the fix: `assert _lossy(caught)` failed, summarize said nothing.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summaries = summarize(model, tok, [LONG, CODE], progress=False, **gen(max_new_tokens=3))
    assert len(summaries) == 2
    (message,) = _lossy(caught)
    assert "1 of 2 dialogues is longer than max_source_length=512" in message
    assert "cannot encode" in message and "'{'" in message

    split = limit_split(sample["test"], 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_model(
            model, tok, split, progress=False, **gen(max_new_tokens=3, max_source_length=16)
        )
        distributed = distributed_evaluate(
            model, tok, split, progress=False, **gen(max_new_tokens=3, max_source_length=16)
        )
        distributed_summarize(model, tok, [LONG], progress=False, **gen(max_new_tokens=3))
    assert result.inputs.truncated == 3 and result.inputs.max_length == 16
    assert distributed.inputs == result.inputs
    assert len(_lossy(caught)) == 3  # one per call, not one per batch or per process share


def test_notebook_helpers_warn_and_record(tiny, sample, smoke_config):
    model, tok = tiny
    peft_model = lora(model)
    config = TrainConfig.smoke(
        output_dir=smoke_config.output_dir, max_source_length=16, max_new_tokens=3
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = evaluate_zero_shot_and_lora(
            peft_model, tok, limit_split(sample["test"], 2), config, progress=False
        )
        zero_shot_and_lora_summaries(peft_model, tok, [CODE], **gen(max_new_tokens=3))
    assert all(r.inputs.truncated == 2 for r in results.values())
    assert (
        len(_lossy(caught)) == 2
    )  # once per helper, not once per model (both read the same prompts)


def _said(fn, *args) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args)
    return _lossy(caught)


def test_training_says_which_characters_are_lost(tiny, sample):
    _, tok = tiny
    from datasets import DatasetDict

    train = sample["train"].select(range(4))
    train = train.map(
        lambda row, i: {"dialogue": CODE if i == 0 else row["dialogue"]}, with_indices=True
    )
    messages = _said(prepare_datasets, DatasetDict(train=train), tok, TrainConfig.smoke())
    assert any(
        "1 of 4 train dialogues holds 3 characters the tokenizer cannot encode" in m
        for m in messages
    )


def test_training_says_what_the_summaries_lose(tiny, sample):
    """Issue 32 (8): every text field of every split the Trainer reads. Before the fix the
    characters of training and validation *summaries* that become <unk> were never mentioned."""
    _, tok = tiny
    from datasets import DatasetDict

    def with_text(split, field, text, rows):
        part = sample[split].select(range(rows))
        return part.map(lambda row, i: {field: text if i == 0 else row[field]}, with_indices=True)

    emoji = "They agree on a code 😀, with { and ~."
    assert tok.unk_token_id in tok(emoji)["input_ids"]  # the smoke tokenizer lacks them too
    data = DatasetDict(
        train=with_text("train", "summary", emoji, 4),
        validation=with_text("validation", "summary", "Fine {ok}.", 3),
    )
    lines = [m for m in _said(prepare_datasets, data, tok, TrainConfig.smoke()) if "summaries" in m]
    assert lines == [
        "1 of 4 train summaries holds 3 characters the tokenizer cannot encode (e.g. '😀' "
        "'{' '~'); the model learns to write <unk> in their place",
        "1 of 3 validation summaries holds 2 characters the tokenizer cannot encode (e.g. "
        "'{' '}'); the model learns to write <unk> in their place",
    ]


@pytest.mark.skipif(not FLAN_TOKENIZER.is_dir(), reason=needs_shared("flan-t5-tokenizer"))
def test_flan_t5_loses_the_issues_summary_characters():
    """The issue's characters are lost by the real Flan-T5 tokenizer too (not only the smoke one)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(FLAN_TOKENIZER)
    report = measure_inputs(["They agree on a code 😀, with { and ~."], tok, None)
    assert report.lost_examples == ["😀", "{", "~"]


def test_summarize_command_says_what_the_model_does_not_see(tmp_path, capsys):
    path = tmp_path / "in.txt"
    path.write_text(f"{LONG}\n\n{CODE}\n", encoding="utf-8")
    # Before the fix: `assert len(warnings_) == 1` failed: exit 0, two summaries, no word.
    assert (
        main(["summarize", "--preset", "smoke", "--input", str(path), "--max-new-tokens", "3"]) == 0
    )
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 2
    warnings_ = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert len(warnings_) == 1, captured.err
    assert "1 of 2 dialogues is longer than max_source_length=512" in warnings_[0]
    assert "characters the tokenizer cannot encode" in warnings_[0]


def _tiny_from_smoke():
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    from dialogsum_peft.offline import tiny_base_dir

    return (
        T5ForConditionalGeneration.from_pretrained(tiny_base_dir()),
        AutoTokenizer.from_pretrained(tiny_base_dir()),
    )


def test_evaluate_records_truncation_and_lost_characters_in_scores_json(tmp_path, capsys):
    # Before the fix: `scores["inputs"]` raised KeyError and nothing was said on stderr.
    tiny, tok = _tiny_from_smoke()
    adapter = save_adapter(lora(tiny), tmp_path / "adapter", tok)
    out = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "--preset",
                "smoke",
                "--output-dir",
                str(tmp_path / "run"),
                "--adapter",
                str(adapter),
                "--results-dir",
                str(out),
                "--limit",
                "3",
                "--max-source-length",
                "16",
                "--max-new-tokens",
                "3",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    scores = json.loads((out / "scores.json").read_text())
    for model in ("base", "lora"):  # each model's input is recorded
        assert scores["inputs"][model]["truncated"] == 3
        assert scores["inputs"][model]["max_length"] == 16
        assert {"tokens_cut", "with_unknown", "chars_lost"} <= set(scores["inputs"][model])
    warned = [
        line
        for line in err.splitlines()  # (3 dialogues: no 95% intervals, said apart)
        if line.startswith("warning: ") and "95% interval" not in line
    ]
    assert len(warned) == 1 and warned == [
        line for line in err.splitlines() if "3 of 3 dialogues of the split are longer" in line
    ]
