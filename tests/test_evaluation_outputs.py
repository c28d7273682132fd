"""dialogsum_peft.command_line.evaluation_outputs: what ``evaluate`` writes, and what its chart
says it shows (the PNG's ``Title`` field: save_figure writes the figure's title there)."""

from __future__ import annotations

import json
import shutil

from PIL import Image

from dialogsum_peft.command_line.evaluation_outputs import write_evaluation
from dialogsum_peft.config import TrainConfig
from dialogsum_peft.data import load_dialogsum
from dialogsum_peft.metrics import EvalResult, score_pairs
from dialogsum_peft.offline import SAMPLE_NAME, sample_data_dir


def _results(test):
    """Two real EvalResults without a model: each dialogue's first line, and its own summary."""
    refs = list(test["references"])
    firsts = [d.split("\n")[0] for d in test["dialogue"]]
    return {
        name: EvalResult(preds, score_pairs(preds, refs), smoke=True)
        for name, preds in (("base", firsts), ("lora", list(test["summary"])))
    }


def test_the_chart_names_the_data_it_scored(tmp_path):
    """Review item 3: evaluate's rouge.png said "ROUGE on DialogSum test" for the shipped sample
    and for one's own data folder alike."""
    own = tmp_path / "my_data"
    shutil.copytree(sample_data_dir(), own)
    for source, named in ((sample_data_dir(), SAMPLE_NAME), (own, str(own))):
        test = load_dialogsum(str(source))["test"].select(range(4))
        config = TrainConfig.smoke(dataset_source=str(source))
        out = write_evaluation(
            tmp_path / "ev", _results(test), test, {"split": "test"}, config, formats=("jsonl",)
        )
        title = " ".join(Image.open(out / "rouge.png").text["Title"].split())
        assert title.startswith(f"ROUGE on 4 test dialogues of {named}"), title
        assert "DialogSum" not in title
        assert json.loads((out / "config.json").read_text())["dataset_source"] == str(source)
