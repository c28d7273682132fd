"""dialogsum_peft.published: others' figures keep their source and protocol."""

import pytest

from dialogsum_peft.published import PUBLISHED, PublishedFigure, figures_from


def test_figures_from_selects_by_source():
    lab = figures_from("course lab")
    assert lab and all(f.source.startswith("course lab") for f in lab)
    assert {f.setup for f in lab} == {
        "flan-t5-base zero-shot",
        "flan-t5-base full fine-tuning",
        "flan-t5-base LoRA",
    }
    assert all(f in PUBLISHED for f in lab) and len(lab) < len(PUBLISHED)
    assert figures_from("nobody") == ()
    with pytest.raises(ValueError):  # a figure names a protocol we know
        PublishedFigure("somewhere", "some model", "average", {"rouge1": 0.5})


def test_every_figure_names_its_base_model_and_an_uncheckable_source_says_so():
    """A reader saw "LoRA r=8 on q,v, ... | published: a Colab notebook" beside our rows: no base
    model in its label, no way to find the source."""
    assert all(f.setup.startswith("flan-t5-base ") for f in PUBLISHED)
    unlinked = [f for f in PUBLISHED if f.source.startswith("a Colab notebook")]
    assert unlinked and all("cannot be checked" in f.source for f in unlinked)
