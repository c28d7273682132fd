"""The adapter folder's model card (model_card, and the sections card_sections writes): written
with huggingface_hub's ModelCard, read back with ModelCard.load, true to the saved adapter, the
run and the results."""

from __future__ import annotations

import pytest
from huggingface_hub import ModelCard

from conftest import lora
from dialogsum_peft.card_sections import EVAL_END, EVAL_START, hub_id
from dialogsum_peft.command_line.run_outputs import save_adapter
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.errors import AdapterError
from dialogsum_peft.intervals import difference_intervals, format_interval, rouge_intervals
from dialogsum_peft.methods import apply_method
from dialogsum_peft.metrics import MULTI_REF_PROTOCOLS, ROUGE_TYPES, EvalResult, score_pairs
from dialogsum_peft.model_card import SMOKE_TAG, TAG, read_card
from dialogsum_peft.sharing import write_model_card
from dialogsum_peft.versions import library_versions
from dialogsum_peft.wins import win_shares


def summaries_of(test, shift: int, smoke: bool = False) -> EvalResult:
    """A real EvalResult without a model: each dialogue "summarized" by a human summary."""
    preds = [test["summary"][(i + shift) % len(test)] for i in range(len(test))]
    return EvalResult(preds, score_pairs(preds, list(test["references"])), smoke=smoke)


@pytest.fixture()
def adapter(tiny, tmp_path):
    """A real LoRA adapter folder (r=4, alpha=8 on q, v) as save_adapter writes it."""
    model, tokenizer = tiny
    return save_adapter(lora(model, lora_r=4, lora_alpha=8), tmp_path / "adapter", tokenizer)


def full_config(**overrides) -> TrainConfig:
    """flan-t5-base on DialogSum from the Hub, as a full-mode run names them."""
    return TrainConfig(output_dir="unused", **overrides)


def text_before_results(card) -> str:
    return card.text.split(EVAL_START)[0]


def test_card_metadata_and_results_load_back(adapter, sample):
    test = sample["test"]
    tuned, zero_shot = summaries_of(test, 0), summaries_of(test, 1)
    path = write_model_card(adapter, full_config(), tuned, zero_shot)
    assert path == adapter / "README.md"
    card = ModelCard.load(path)
    data = card.data
    assert data.library_name == "peft" and data.base_model == "google/flan-t5-base"
    assert data.datasets == ["knkarthick/dialogsum"] and data.pipeline_tag == "summarization"
    assert TAG in data.tags and "lora" in data.tags and SMOKE_TAG not in data.tags
    assert data.model_name == "flan-t5-base-dialogsum-lora"
    assert card.text.strip().splitlines()[0] == "# flan-t5-base-dialogsum-lora"
    # model-index: the adapter's corpus ROUGE under every protocol, the protocol named
    results = {(r.metric_args["multi_ref"], r.metric_config): r for r in data.eval_results}
    assert len(data.eval_results) == len(results) == len(MULTI_REF_PROTOCOLS) * len(ROUGE_TYPES)
    for (protocol, k), r in results.items():
        assert r.metric_type == "rouge" and f"protocol: {protocol}" in r.metric_name
        assert r.metric_value == round(tuned.by_protocol[protocol][k], 4)
        assert (r.task_type, r.dataset_type, r.dataset_split) == (
            "summarization",
            "knkarthick/dialogsum",
            "test",
        )
    # the text: both rows and the difference with their intervals, the per-dialogue shares
    for protocol in MULTI_REF_PROTOCOLS:
        ci = rouge_intervals(zero_shot.pair_scores, protocol)["rouge1"]
        assert (
            f"| {protocol} | zero-shot (base model) | "
            f"{zero_shot.by_protocol[protocol]['rouge1']:.4f} ({format_interval(ci)}) |"
        ) in card.text
        d = difference_intervals(zero_shot.pair_scores, tuned.pair_scores, protocol)["rouge1"]
        assert (
            f"| {protocol} | difference | {d['difference']:+.4f} "
            f"({format_interval(d['ci95'], signed=True)}) |"
        ) in card.text
    assert str(win_shares(zero_shot, tuned)["higher"]) in card.text
    assert "10 dialogues of the test split of DialogSum" in card.text
    assert "Intended use and limits" in card.text and "CC BY-NC-SA 4.0" in card.text


def test_the_method_settings_are_read_from_the_saved_adapter(adapter, tiny_dir, tmp_path):
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    # the config says r=32 (flan-t5-base's default), the folder holds an r=4 adapter
    text = ModelCard.load(write_model_card(adapter, full_config())).text
    assert "r=4, lora_alpha=8, lora_dropout=0.05, target_modules: q, v" in text
    assert "r=32" not in text
    model = T5ForConditionalGeneration.from_pretrained(tiny_dir)  # a fresh base for IA3
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    ia3 = save_adapter(
        apply_method(model, TrainConfig.smoke(method="ia3")), tmp_path / "ia3", tokenizer
    )
    card = ModelCard.load(write_model_card(ia3, TrainConfig.smoke(method="ia3")))
    assert "IA3 (peft `IA3Config`): target_modules: k, v, wo" in card.text
    assert "ia3" in card.data.tags and card.data.model_name.endswith("-ia3")


def test_a_smoke_card_says_it_is_an_untrained_toy_first(adapter, sample, smoke_config):
    test = sample["test"]
    card = ModelCard.load(
        write_model_card(
            adapter,
            smoke_config,
            summaries_of(test, 0, smoke=True),
            summaries_of(test, 1, smoke=True),
        )
    )
    first = card.text.strip().splitlines()[0]
    assert "untrained toy" in first and "SMOKE TEST" in first
    assert SMOKE_TAG in card.data.tags and "smoke-test" in card.data.model_name
    # a local base and the shipped sample are no Hub ids: the metadata names none
    assert card.data.base_model is None and card.data.datasets is None
    assert (
        "SMOKE MODE: tiny random model, numbers are meaningless" in card.text.split(EVAL_START)[1]
    )
    # a smoke config alone (results not given yet) is enough for the mark
    plain = ModelCard.load(write_model_card(adapter, smoke_config))
    assert "untrained toy" in plain.text.strip().splitlines()[0]


def test_training_is_recorded_once_and_each_evaluation_replaces_the_results(adapter, sample):
    test = sample["test"]
    config = full_config()
    write_model_card(adapter, config, steps=250)  # what `train` writes
    trained = read_card(adapter)
    assert "Not evaluated yet" in trained.text and trained.data.eval_results is None
    versions = library_versions()
    assert (
        f"peft {versions['peft']}" in trained.text
        and "| trained on | CPU, 250 optimizer steps |" in trained.text
    )
    assert "| recipe | quick: 250 optimizer steps x effective batch 8 |" in trained.text

    first = summaries_of(test, 0)
    write_model_card(adapter, config, first, summaries_of(test, 1), trained_here=False)
    second = summaries_of(test, 2)  # a later evaluation, without the zero-shot row
    write_model_card(
        adapter,
        config,
        second,
        trained_here=False,
        split="validation",
        backend="ctranslate2 (int8)",
    )
    card = read_card(adapter)
    assert text_before_results(card) == text_before_results(trained)  # the training as recorded
    assert card.text.count(EVAL_START) == card.text.count(EVAL_END) == 1
    assert "zero-shot" not in card.text.split(EVAL_START)[1].split(EVAL_END)[0]
    assert "validation split" in card.text and "ctranslate2 (int8) backend" in card.text
    values = {
        (r.metric_args["multi_ref"], r.metric_config): r.metric_value
        for r in card.data.eval_results
    }
    assert values[("mean", "rouge1")] == round(second.by_protocol["mean"]["rouge1"], 4)
    assert {r.dataset_split for r in card.data.eval_results} == {"validation"}


def test_an_adapter_without_a_card_of_ours_gets_one_that_says_what_is_not_known(adapter, sample):
    assert (adapter / "README.md").is_file() and read_card(adapter) is None  # peft's template
    tuned = summaries_of(sample["test"], 0)
    card = ModelCard.load(write_model_card(adapter, full_config(), tuned, trained_here=False))
    assert "| training | not recorded" in card.text and "library versions" not in card.text
    assert len(card.data.eval_results) == 12


def test_only_an_adapter_folder_gets_a_card(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdapterError, match="not a peft adapter folder"):
        write_model_card(tmp_path / "empty", full_config())


def test_only_hub_repository_ids_go_into_the_metadata(tmp_path):
    assert hub_id("google/flan-t5-base") == "google/flan-t5-base"
    assert hub_id(str(tmp_path)) is None  # a local folder
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "model").mkdir()
    assert hub_id(str(tmp_path / "org" / "model")) is None
    assert hub_id("tiny-random-t5") is None and hub_id(None) is None
    assert hub_id("not a/repo id") is None


def test_a_card_someone_wrote_is_never_replaced(adapter, sample):
    """peft's empty template and our own cards are replaced; a hand-written or broken README is
    refused in one line and stays as it was."""
    readme = adapter / "README.md"
    readme.write_text("---\nlicense: mit\n---\n# My adapter\nNotes I wrote.\n", encoding="utf-8")
    tuned = summaries_of(sample["test"], 0)
    for kwargs in ({}, {"tuned": tuned, "trained_here": False}):
        with pytest.raises(AdapterError, match="a model card someone wrote"):
            write_model_card(adapter, full_config(), **kwargs)
    assert readme.read_text(encoding="utf-8").endswith("Notes I wrote.\n")
    readme.write_text("---\nlicense: [mit\n---\nbroken\n", encoding="utf-8")
    with pytest.raises(AdapterError, match="cannot be read as a model card"):
        write_model_card(adapter, full_config())
    assert readme.read_text(encoding="utf-8").endswith("broken\n")


def test_a_card_of_ours_that_peft_rewrote_is_ours_and_written_anew(adapter, tiny_dir, sample):
    """The tutorial's second run: save_pretrained over the first run's card keeps its body but
    puts peft's tags, base_model and "Framework versions" in; the card was refused as one
    someone wrote, and the notebook stopped."""
    from peft import PeftModel
    from transformers import T5ForConditionalGeneration

    model = T5ForConditionalGeneration.from_pretrained(tiny_dir)  # a fresh base
    config = full_config()
    write_model_card(adapter, config, summaries_of(sample["test"], 1))
    PeftModel.from_pretrained(model, adapter).save_pretrained(adapter)  # peft rewrites the card
    rewritten = ModelCard.load(adapter / "README.md")
    assert TAG not in (rewritten.data.tags or []) and "Framework versions" in rewritten.text
    card = ModelCard.load(write_model_card(adapter, config, summaries_of(sample["test"], 1)))
    assert TAG in card.data.tags and "Framework versions" not in card.text
    assert card.text.count(EVAL_START) == 1


def test_results_find_their_place_when_the_section_was_edited_away(adapter, sample):
    write_model_card(adapter, full_config())
    readme = adapter / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(EVAL_START), text.index(EVAL_END) + len(EVAL_END)
    readme.write_text(text[:start] + text[end:], encoding="utf-8")
    tuned = summaries_of(sample["test"], 0)
    card = ModelCard.load(write_model_card(adapter, full_config(), tuned, trained_here=False))
    assert card.text.count(EVAL_START) == 1 and card.text.rstrip().endswith(EVAL_END)
    assert "Intended use and limits" in card.text and len(card.data.eval_results) == 12


def _snippet(card) -> str:
    text = card.text.split("## How to use", 1)[1]
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_how_to_use_snippet_runs_with_the_runs_own_settings(tiny, tmp_path, sample):
    """Review item 9: the snippet hard-coded max_new_tokens=128 (the smoke run generated at most
    24) and max_length=512, and told a smoke card's reader to from_pretrained("tiny-random-t5"),
    which no one can load. It now carries the run's generation settings, and a smoke card's
    snippet builds the tiny base: run as written, it writes the run's own summary."""
    from conftest import randomize_lora_b
    from dialogsum_peft.generation import summarize

    model, tokenizer = tiny
    config = TrainConfig.smoke(max_new_tokens=7, num_beams=2, max_source_length=64)
    peft_model = randomize_lora_b(lora(model, lora_r=4, lora_alpha=8))
    folder = save_adapter(peft_model, tmp_path / "adapter", tokenizer)
    card = ModelCard.load(write_model_card(folder, config))
    code = _snippet(card)
    assert "max_new_tokens=7, num_beams=2" in code and "max_length=64" in code
    assert "128" not in code and "tiny-random-t5" not in code and "tiny_base_dir()" in code
    dialogue = sample["test"][0]["dialogue"]
    scope = {"dialogue": dialogue}
    exec(code.replace("path/or/hub-id/of/this/adapter", str(folder)), scope)  # as a reader would
    expected = summarize(
        peft_model, tokenizer, [dialogue], progress=False, **config.generation_kwargs()
    )
    assert scope["summary"] == expected[0]
    full = _snippet(ModelCard.load(write_model_card(folder, full_config(max_new_tokens=60))))
    assert "from_pretrained('google/flan-t5-base')" in full and "max_new_tokens=60" in full
    assert "tiny_base_dir" not in full and "max_length=512" in full


def test_the_card_names_the_data_it_was_trained_on(adapter, tmp_path):
    """Review item 3: a card of an adapter trained on the shipped sample or on one's own data was
    tagged "dialogsum"; its text and tags name the data the run read."""
    from dialogsum_peft.offline import SAMPLE_NAME

    own = tmp_path / "my_data"
    own.mkdir()
    for config, named, tagged in (
        (full_config(), "trained on DialogSum", True),
        (TrainConfig.smoke(), f"trained on {SAMPLE_NAME}", False),
        (full_config(dataset_source=str(own)), f"trained on {own}", False),
    ):
        card = ModelCard.load(write_model_card(adapter, config))
        assert named in card.text and ("dialogsum" in card.data.tags) == tagged, card.data.tags
