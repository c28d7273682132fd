import pytest
import torch

from conftest import gen, lora
from dialogsum_peft.data import build_prompt
from dialogsum_peft.generation import summarize


def one_at_a_time(model, tok, dialogues, max_new_tokens):
    """The original tutorial's loop: one prompt, one generate call."""
    out = []
    for d in dialogues:
        ids = tok(build_prompt(d), return_tensors="pt", truncation=True, max_length=512).input_ids
        generated = model.generate(input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False)
        out.append(tok.decode(generated[0], skip_special_tokens=True).strip())
    return out


def test_batched_equals_one_at_a_time_and_keeps_order(tiny, sample):
    model, tok = tiny
    dialogues = list(sample["test"]["dialogue"]) + list(sample["validation"]["dialogue"][:3])
    expected = one_at_a_time(model, tok, dialogues, max_new_tokens=12)
    assert len(set(expected)) > 1  # distinct outputs, so order mistakes would show
    batched = summarize(
        model, tok, dialogues, progress=False, **gen(batch_size=4, max_new_tokens=12)
    )
    assert batched == expected
    # a different batch size (different padding groups) and a reversed input give the same map
    assert (
        summarize(model, tok, dialogues, progress=False, **gen(batch_size=13, max_new_tokens=12))
        == expected
    )
    assert (
        summarize(
            model, tok, dialogues[::-1], progress=False, **gen(batch_size=5, max_new_tokens=12)
        )
        == expected[::-1]
    )


def test_deterministic_and_model_state_restored(tiny, sample):
    model, tok = tiny
    model.train()
    dialogues = list(sample["validation"]["dialogue"][:4])
    first = summarize(model, tok, dialogues, progress=False, **gen(batch_size=2, max_new_tokens=8))
    assert model.training  # summarize switches to eval for generation, then back
    assert (
        summarize(model, tok, dialogues, progress=False, **gen(batch_size=3, max_new_tokens=8))
        == first
    )


def test_works_on_peft_model_and_beam_search(tiny, sample):
    model, tok = tiny
    peft_model = lora(model, lora_r=4, lora_alpha=8)
    dialogues = list(sample["validation"]["dialogue"][:3])
    # freshly initialised LoRA (B = 0) changes nothing
    base_out = summarize(
        peft_model.get_base_model(), tok, dialogues, progress=False, **gen(max_new_tokens=8)
    )
    peft_out = summarize(peft_model, tok, dialogues, progress=False, **gen(max_new_tokens=8))
    assert peft_out == base_out
    beams = summarize(
        peft_model, tok, dialogues, progress=False, **gen(max_new_tokens=8, num_beams=3)
    )
    assert len(beams) == 3 and all(isinstance(s, str) for s in beams)


def test_a_record_separator_between_turns_is_a_line_break(tiny, sample):
    """Issue 32: a JSON Lines dialogue whose turns are separated by U+001E is summarized like the
    same dialogue with line breaks (the smoke tokenizer read U+001E as <unk>, Flan-T5's deletes it)."""
    model, tok = tiny
    dialogues = list(sample["test"]["dialogue"][:3])
    separated = [d.replace("\n", "\x1e") for d in dialogues]
    assert separated != dialogues
    assert summarize(model, tok, separated, progress=False, **gen(max_new_tokens=8)) == summarize(
        model, tok, dialogues, progress=False, **gen(max_new_tokens=8)
    )


def test_forced_length_for_benchmarks(tiny, sample):
    model, tok = tiny
    dialogues = list(sample["validation"]["dialogue"][:2])
    out = summarize(
        model, tok, dialogues, min_new_tokens=6, progress=False, **gen(max_new_tokens=6)
    )
    for d, s in zip(dialogues, out):
        ids = tok(build_prompt(d), return_tensors="pt").input_ids
        generated = model.generate(
            input_ids=ids, min_new_tokens=6, max_new_tokens=6, do_sample=False
        )
        assert generated.shape[1] == 1 + 6  # decoder start token + exactly 6 new tokens
        assert s == tok.decode(generated[0], skip_special_tokens=True).strip()


@pytest.mark.parametrize(
    "bad, message",
    [
        ("one dialogue", "single string"),
        ([], "no dialogues"),
        (["ok", ""], "dialogue 1 is empty"),
        (["ok", "\u200e \u2066"], "dialogue 1 is empty"),  # issue 32: nothing visible in it
        (["ok", 3], "dialogue 1 is a int"),
    ],
)
def test_rejects_bad_input(tiny, bad, message):
    model, tok = tiny
    with pytest.raises(ValueError, match=message):
        summarize(model, tok, bad, progress=False, **gen())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(tiny, sample):  # pragma: no cover - GPU machines only
    model, tok = tiny
    dialogues = list(sample["validation"]["dialogue"][:4])
    cpu = summarize(model, tok, dialogues, progress=False, **gen(max_new_tokens=8))
    assert summarize(model.cuda(), tok, dialogues, progress=False, **gen(max_new_tokens=8)) == cpu


# ------------------------------------------------------------------ issue 16: settings recorded = used
@pytest.fixture()
def opinionated_dir(tiny_dir, tmp_path):
    """The tiny T5 saved again with a generation_config.json holding decoding settings, as a
    fine-tuned summarizer's folder may."""
    import shutil

    from transformers import GenerationConfig

    folder = tmp_path / "opinionated"
    shutil.copytree(tiny_dir, folder)
    GenerationConfig(
        decoder_start_token_id=0,
        eos_token_id=1,
        pad_token_id=0,
        no_repeat_ngram_size=1,
        min_length=12,
        repetition_penalty=3.0,
    ).save_pretrained(folder)
    return folder


def test_model_generation_config_does_not_change_decoding(tiny, opinionated_dir, sample):
    from transformers import T5ForConditionalGeneration

    model, tokenizer = tiny
    opinionated = T5ForConditionalGeneration.from_pretrained(opinionated_dir).eval()
    assert opinionated.generation_config.repetition_penalty == 3.0  # the file is read
    dialogues = list(sample["test"]["dialogue"][:3])
    plain = summarize(model, tokenizer, dialogues, progress=False, **gen(max_new_tokens=16))
    assert (
        summarize(opinionated, tokenizer, dialogues, progress=False, **gen(max_new_tokens=16))
        == plain
    )
    peft = lora(opinionated)  # through a peft model too (its base's file counted before)
    assert summarize(peft, tokenizer, dialogues, progress=False, **gen(max_new_tokens=16)) == plain
    assert opinionated.generation_config.no_repeat_ngram_size == 1  # left as it was


def test_decoding_config_keeps_only_the_model_token_ids(opinionated_dir):
    from transformers import T5ForConditionalGeneration

    from dialogsum_peft.generation import decoding_config

    model = T5ForConditionalGeneration.from_pretrained(opinionated_dir)
    config = decoding_config(model, max_new_tokens=16, num_beams=2)
    assert {
        k: v for k, v in config.to_dict().items() if v is not None and k != "transformers_version"
    } == {
        "max_new_tokens": 16,
        "num_beams": 2,
        "do_sample": False,
        "decoder_start_token_id": 0,
        "eos_token_id": 1,
        "pad_token_id": 0,
    }
