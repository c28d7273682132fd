"""dialogsum_peft.forgetting: the project's instruction set outside dialogue summarization, scored
by normalized exact match before and after fine-tuning, with Wilson intervals for each accuracy
and a paired bootstrap interval for the change; on the tiny T5 and its real adapters."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from conftest import gen, lora, needs_shared, randomize_lora_b
from dialogsum_peft.display import SMOKE_NOTE
from dialogsum_peft.errors import DataError
from dialogsum_peft.forgetting import (
    INSTRUCTIONS_FILE,
    MAX_NEW_TOKENS,
    Instruction,
    InstructionScores,
    answer_examples,
    change_interval,
    forgetting_table,
    is_correct,
    load_instructions,
    normalize,
    score_before_and_after,
    score_instructions,
)
from dialogsum_peft.generation import summarize
from dialogsum_peft.intervals import wilson_interval

FLAN_TOKENIZER = Path(__file__).resolve().parents[2] / "shared" / "flan-t5-tokenizer"
CATEGORIES = {
    "sentiment",
    "yes/no",
    "question",
    "translation en-de",
    "translation en-fr",
    "arithmetic",
}


def test_the_shipped_set_is_a_few_dozen_documented_instructions():
    items = load_instructions()
    assert 30 <= len(items) <= 50
    assert len({i.id for i in items}) == len(items)
    assert set(Counter(i.category for i in items)) == CATEGORIES
    assert all(i.answers and all(normalize(a) for a in i.answers) for i in items)
    readme = (INSTRUCTIONS_FILE.parent / "README.md").read_text(encoding="utf-8").lower()
    assert "normalized exact match" in readme and "not measured yet" in readme


@pytest.mark.skipif(not FLAN_TOKENIZER.is_dir(), reason=needs_shared("flan-t5-tokenizer"))
def test_flan_t5_reads_every_instruction_and_can_write_every_accepted_answer():
    """An answer flan-t5-base's vocabulary cannot spell (a character mapped to <unk>) could never
    match exactly: every accepted answer survives encode/decode, and fits the answer budget."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(FLAN_TOKENIZER)
    for item in load_instructions():
        ids = tokenizer(item.instruction).input_ids
        assert tokenizer.unk_token_id not in ids and len(ids) <= 512, item.id
        for answer in item.answers:
            ids = tokenizer(answer).input_ids
            assert tokenizer.unk_token_id not in ids and len(ids) < MAX_NEW_TOKENS, (
                item.id,
                answer,
            )
            assert is_correct(tokenizer.decode(ids, skip_special_tokens=True), [answer]), answer


def test_normalized_exact_match():
    assert normalize("  J'ai   FAIM.\n") == "j ai faim"
    assert normalize("Où est la gare ?") == "où est la gare"  # accents kept, punctuation gone
    assert is_correct("Paris.", ["paris"]) and is_correct("TWELVE", ["12", "twelve"])
    assert is_correct("Danke schön!", ["Vielen Dank", "Danke schön"])
    # exact, not contained: repeating the options or writing around the answer does not count
    for wrong in ("positive or negative", "The answer is positive", "", "positively"):
        assert not is_correct(wrong, ["positive"]), wrong


def _write(path: Path, records) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records),
        encoding="utf-8",
    )
    return path


def test_load_instructions_names_the_bad_line(tmp_path):
    good = {"id": "a", "category": "c", "instruction": "Say yes.", "answers": ["yes"]}
    assert load_instructions(_write(tmp_path / "ok.jsonl", [good, "", {**good, "id": "b"}])) == [
        Instruction("a", "c", "Say yes.", ("yes",)),
        Instruction("b", "c", "Say yes.", ("yes",)),
    ]
    bad = {
        "not JSON": ["{oops"],
        "instruction": [{**good, "instruction": " "}],
        "answers": [{**good, "answers": []}],
        "answers ": [{**good, "answers": ["?!"]}],
        "repeats the id": [good, good],
    }
    for message, records in bad.items():
        path = _write(tmp_path / "bad.jsonl", records)
        with pytest.raises(
            DataError, match=rf"bad\.jsonl: line {len(records)} .*{message.strip()}"
        ):
            load_instructions(path)
    with pytest.raises(DataError, match="no instructions"):
        load_instructions(_write(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(DataError, match="no such file"):
        load_instructions(tmp_path / "missing.jsonl")


def test_wilson_interval_is_scipys_wilson_score_interval():
    z = 1.959963984540054  # the normal quantile of 0.975

    def wilson(k, n):  # Wilson (1927), the score interval's closed form
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half, centre + half

    for k, n in ((0, 40), (1, 40), (23, 40), (40, 40), (3, 7)):
        low, high = wilson_interval(k, n)
        assert (low, high) == pytest.approx(wilson(k, n), abs=1e-9), (k, n)
        assert 0 <= low <= k / n <= high <= 1
    assert InstructionScores(["x"] * 4, [True, False, True, True]).interval().low == pytest.approx(
        wilson(3, 4)[0]
    )
    for k, n in ((1, 0), (5, 4), (-1, 4)):
        with pytest.raises(ValueError):
            wilson_interval(k, n)


def _scores(correct, smoke=False):
    return InstructionScores([f"answer {i}" for i in range(len(correct))], list(correct), smoke)


def test_change_interval_is_paired_and_says_when_there_is_none():
    before = _scores([True] * 20 + [False] * 20)
    after = _scores([True] * 10 + [False] * 28 + [True] * 2)  # 10 forgotten, 2 learned
    low, high = change_interval(before, after)
    assert low < -8 / 40 < high < 0  # the change, -0.2, inside; the loss resolved
    # the same accuracies with every item flipped: unpaired they look alike, paired they are not
    flipped = change_interval(
        _scores([True] * 20 + [False] * 20), _scores([False] * 20 + [True] * 20)
    )
    assert flipped.low < -0.2 and flipped.high > 0.2
    assert change_interval(before, before).reason == "no spread: every instruction changed by +0"
    assert "at least 10" in change_interval(_scores([True] * 5), _scores([False] * 5)).reason
    with pytest.raises(ValueError, match="the same instructions"):
        change_interval(before, _scores([True] * 39))


def test_forgetting_table_counts_forgotten_and_learned():
    before, after = (
        _scores([True] * 20 + [False] * 20),
        _scores([True] * 10 + [False] * 28 + [True] * 2),
    )
    table = forgetting_table({"full": (before, after), "LoRA": (before, before)})
    assert list(table.index) == ["full", "LoRA"]
    assert list(table.columns) == ["before", "after", "change", "forgotten", "learned"]
    row = table.loc["full"]
    wilson, change = wilson_interval(12, 40), change_interval(before, after)
    assert row["before"].startswith("0.500 (") and row["after"] == (
        f"0.300 ({wilson.low:.3f} to {wilson.high:.3f})"
    )
    assert row["change"] == f"-0.200 ({change.low:+.3f} to {change.high:+.3f})"
    assert (row["forgotten"], row["learned"]) == (10, 2)
    assert (
        table.loc["LoRA", "change"]
        == "+0.000 (not estimable: no spread: every instruction changed by +0)"
    )
    assert "on 40 instructions" in table.caption and "normalized exact match" in table.caption
    assert SMOKE_NOTE not in table.caption
    smoke = forgetting_table({"LoRA": (_scores([False] * 40, smoke=True), _scores([False] * 40))})
    assert smoke.caption.splitlines()[-1] == SMOKE_NOTE
    with pytest.raises(ValueError, match="the same instructions"):
        forgetting_table({"LoRA": (before, _scores([True] * 39))})


def test_answer_examples_show_the_forgotten_first():
    items = [Instruction(f"q{i}", "c", f"Question {i}?", (f"a{i}",)) for i in range(8)]
    before = _scores([False, False, True, True, False, True, False, False])
    after = _scores([False, True, True, False, False, False, False, False])
    table = answer_examples(items, before, after, k=4)
    assert list(table.index) == ["q3", "q5", "q0", "q1"]
    assert (
        table.loc["q3", "before"] == "right: answer 3"
        and table.loc["q3", "after"] == "wrong: answer 3"
    )
    assert table.caption == (  # which rows these are: a reader saw 6 unforgotten ones unexplained
        "2 of 8 instructions forgotten (right before, wrong after); "
        "shown: 4, the forgotten first, then in file order"
    )
    kept = answer_examples(items, before, before, k=3)
    assert kept.caption.startswith("0 of 8") and kept.caption.endswith("shown: 3, in file order")
    assert list(kept.index) == ["q0", "q1", "q2"]
    with pytest.raises(ValueError, match="7 instructions for 8 answers"):
        answer_examples(items[:7], before, after)


def test_scores_are_the_models_own_answers_before_and_after(tiny):
    model, tokenizer = tiny
    items = load_instructions()[:12]
    prompts = [i.instruction for i in items]
    # the run's settings (**config.generation_kwargs()), answers cut at MAX_NEW_TOKENS
    answer = gen(max_new_tokens=MAX_NEW_TOKENS)
    plain = summarize(model, tokenizer, prompts, use_prompt=False, progress=False, **answer)
    scores = score_instructions(model, tokenizer, items, **gen(max_new_tokens=4 * MAX_NEW_TOKENS))
    assert scores.answers == plain
    scores = score_instructions(model, tokenizer, items, **answer)
    assert scores.answers == plain and scores.smoke and scores.n == 12
    # an item whose accepted answer is what the model wrote counts; the others as they are
    rigged = [
        Instruction(i.id, i.category, i.instruction, (plain[k],) if k % 2 else i.answers)
        for k, i in enumerate(items)
    ]
    rescored = score_instructions(model, tokenizer, rigged, **answer)
    assert rescored.correct == [
        bool(k % 2) or is_correct(plain[k], items[k].answers) for k in range(12)
    ]
    assert rescored.accuracy == rescored.right / 12 >= 0.5

    peft_model = randomize_lora_b(lora(model))
    before, after = score_before_and_after(peft_model, tokenizer, rigged, **answer)
    assert before.answers == plain and before.correct == rescored.correct  # the adapter was off
    assert after.answers == summarize(
        peft_model, tokenizer, prompts, use_prompt=False, progress=False, **answer
    )
    assert after.answers != before.answers and after.smoke
    with pytest.raises(TypeError, match="peft model"):
        score_before_and_after(model, tokenizer, rigged, **answer)


def test_scoring_says_what_of_an_instruction_the_model_does_not_see(tiny):
    import warnings

    from dialogsum_peft.tokenization import InputLossWarning

    model, tokenizer = tiny
    items = [
        Instruction("code", "c", "Repeat the code {SAVE10} 😀", ("SAVE10",)),
        Instruction("long", "c", " ".join(["Answer yes or no."] * 60), ("yes",)),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score_instructions(model, tokenizer, items, **gen(max_source_length=64))
        score_instructions(model, tokenizer, load_instructions(), **gen())  # it loses nothing
    (message,) = [str(w.message) for w in caught if issubclass(w.category, InputLossWarning)]
    assert "1 of 2 instructions is longer than max_source_length=64" in message
    assert "1 of 2 instructions holds 3 characters the tokenizer cannot encode" in message
    # before and after read the same encoding: what it lost is said once, not once per model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score_before_and_after(lora(model), tokenizer, items, **gen(max_source_length=64))
    assert [str(w.message) for w in caught if issubclass(w.category, InputLossWarning)] == [message]
