"""The method-comparison notebook: committed clean and in sync with its source, showing each
method's peft config object in a cell, and executed once, top to bottom, in smoke mode."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from notebook_checks import (
    assert_caption_above,
    assert_clean,
    assert_in_sync,
    assert_readable_outputs,
    assert_shows,
    code_cells,
    execute_in_smoke_mode,
    find_cell,
    outputs_text,
    unexpected_warnings,
    unqualified_full_mode_numbers,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "peft_methods.ipynb"
SOURCE = ROOT / "notebooks" / "peft_methods.py"
TUTORIAL_SOURCE = ROOT / "notebooks" / "dialogsum_lora.py"
COLAB_URL = (
    "https://colab.research.google.com/github/dialogsum-peft/dialogsum_peft/blob/main/"
    "notebooks/peft_methods.ipynb"
)
# The lesson: each method's config object and the call that applies it, written in code cells.
LESSON_CALLS = (
    "LoraConfig(",
    "IA3Config(",
    "PromptTuningConfig(",
    "get_peft_model(",
    "DialogSumTrainer(",
    "training_arguments(config",
)
# The cell that defines each method's config object (the config the CLI builds for it).
CONFIG_CELLS = {
    "lora": "lora_config = LoraConfig(",
    "lora-all": "lora_all_config = LoraConfig(",
    "ia3": "ia3_config = IA3Config(",
    "prompt-tuning": "prompt_tuning_config = PromptTuningConfig(",
}
ROWS = ("zero-shot", "lora", "lora-all", "ia3", "prompt-tuning", "full")
TABLE_CELL, PLOT_CELLS = (
    "comparison_table(runs",
    ("plot_rouge_vs_parameters(runs", "plot_peak_memory(runs"),
)


# ------------------------------------------------------------------------------ static checks
def _committed():
    return assert_clean(NOTEBOOK, SOURCE)  # output-free, Colab metadata, no tokens or paths


def test_notebook_shows_each_method_config_in_its_cells():
    nb = _committed()
    code = assert_shows(nb, LESSON_CALLS)
    for marker in CONFIG_CELLS.values():
        find_cell(nb, marker)  # one cell per config object, before the cell that trains it
    assert 'train_and_evaluate("full", None)' in code and "fp16=True" not in code
    # The methods it compares, written in the cell, are the package's (settings.METHODS), in order.
    from dialogsum_peft.settings import METHODS

    listed = re.search(r"^METHODS = (\(.*?\))", code, re.M)
    assert listed and ast.literal_eval(listed.group(1)) == tuple(METHODS)
    knobs = find_cell(nb, 'MODE = "auto"')
    for name in ("MODE", "RECIPE", "EVAL_SIZE", "SEED"):
        assert re.search(rf"^{name} = ", knobs.source, re.M), name
    assert code.count("REPO_URL = ") == 1
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert COLAB_URL in nb.cells[0].source and "3e-2" in markdown  # prompt tuning's rate, and why
    assert COLAB_URL in (ROOT / "README.md").read_text(encoding="utf-8")
    # The runtime is one line, an estimate that says so, with the page that gives its basis.
    title = nb.cells[0].source
    runtime = " ".join(title[title.index("**Runtime**") :].split("\n\n")[0].split())
    assert "**estimate**" in runtime and "not a measurement" in runtime
    assert "](../docs/notebook.md)" in runtime and "| T4" not in title


def test_committed_notebook_is_clean_and_in_sync_with_its_source():
    _committed()
    assert_in_sync(NOTEBOOK, SOURCE)


def test_setup_cell_is_the_tutorials():
    """Both notebooks carry the same setup cell (it must run before the package is importable)."""
    jupytext = pytest.importorskip("jupytext")
    if not TUTORIAL_SOURCE.is_file():
        pytest.skip("notebooks/dialogsum_lora.py is not on this branch yet")
    tutorial = find_cell(jupytext.read(TUTORIAL_SOURCE), "REPO_URL = ")
    assert find_cell(_committed(), "REPO_URL = ").source == tutorial.source


WHAT_NEXT_MARKER = "change a method's settings here"


def what_next_edit(nb):
    """Issue 18: "What next" sent readers to the knob cell, which runs before ``configs`` exists
    (a NameError). The instruction as written: its line, after the marked line of the cell it
    names, then "run the notebook again from that cell". Returns the "What next" texts, the
    instruction found there, the marked lines and the lines of that cell, and the cells to run
    (the edited cell, the LoRA config cell and a check), empty if any of it is not found."""
    what_next = [
        c.source for c in nb.cells if c.cell_type == "markdown" and "What next" in c.source
    ]
    found = (
        re.search(r"e\.g\. `(configs\[[^`]+)`", what_next[0].replace("\n# ", " "))
        if what_next
        else None
    )
    instruction = found.group(1) if found else None
    lines = find_cell(nb, "configs = {method: method_config").source.splitlines()
    marked = [i for i, line in enumerate(lines) if WHAT_NEXT_MARKER in line]
    cells = []
    if instruction and len(marked) == 1:
        edited = "\n".join([*lines[: marked[0] + 1], instruction, *lines[marked[0] + 1 :]])
        cells = [
            nbformat.v4.new_code_cell(edited),
            nbformat.v4.new_code_cell(find_cell(nb, CONFIG_CELLS["lora"]).source),
            nbformat.v4.new_code_cell("print('lora r:', lora_config.r, configs['lora'].lora_r)"),
        ]
    return what_next, instruction, marked, lines, cells


@pytest.mark.slow
def test_what_next_instruction_works_where_it_says(executed):
    """Apply the instruction as written at the end of the executed notebook, where a reader
    finds it: the edited cell and the LoRA config cell run, and the change reaches both."""
    what_next, instruction, marked, lines, _ = what_next_edit(_committed())
    assert len(what_next) == 1 and WHAT_NEXT_MARKER in what_next[0]
    assert instruction == 'configs["lora"].lora_r = 8'
    assert len(marked) == 1 and "configs = {" in lines[marked[0] - 1]
    edited, _, check = executed[3]
    assert "lora r: 8 8" in outputs_text(check)
    table = outputs_text(edited)
    assert re.search(r"^LoRA rank r\s+8 \(alpha", table, re.M), table


# ------------------------------------------------------------------------------ one execution
RECORDER = """
import json as _json


def _plain(value):  # peft's target_modules are sets; enums as their value
    return sorted(value) if isinstance(value, (set, frozenset)) else str(value)


_recorded = {}


def _record(method, method_config):  # before get_peft_model fills in model-specific fields
    _recorded[method] = _json.loads(_json.dumps(method_config.to_dict(), default=_plain))
"""
STATE_CELL = """
import os as _os

with open(_os.environ["NOTEBOOK_TEST_STATE"], "w") as _fh:
    _json.dump({"recorded": _recorded, "model_path": model_path, "smoke": configs["lora"].is_smoke,
                "configs": {m: c.to_dict() for m, c in configs.items()}}, _fh, default=_plain)
"""


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run once in smoke mode, with cells added that record each config object as
    the notebook built it; returns the executed notebook, the run folder, that record and the
    executed cells of the "What next" edit (run after everything else, then taken out)."""
    tmp = tmp_path_factory.mktemp("methods-notebook")
    run_dir, state_file = tmp / "run", tmp / "state.json"
    nb = _committed()
    cells = [nbformat.v4.new_code_cell(RECORDER.strip())]
    for cell in nb.cells:
        cells.append(cell)
        for method, marker in CONFIG_CELLS.items():
            if cell.cell_type == "code" and marker in cell.source:
                name = marker.split(" = ")[0]
                cells.append(nbformat.v4.new_code_cell(f"_record({method!r}, {name})"))
    # After the whole run (and the record), the "What next" edit, as a reader would make it: one
    # kernel start for both (test_what_next_instruction_works_where_it_says reads its cells).
    what_next = what_next_edit(nb)[-1]
    nb.cells = cells + [nbformat.v4.new_code_cell(STATE_CELL.strip()), *what_next]
    execute_in_smoke_mode(nb, NOTEBOOK, tmp, {"NOTEBOOK_TEST_STATE": str(state_file)})
    del nb.cells[len(nb.cells) - len(what_next) :]
    return nb, run_dir, json.loads(state_file.read_text()), what_next


@pytest.mark.slow
def test_methods_notebook_runs_and_compares_all_methods(executed):
    from dialogsum_peft.config import TrainConfig
    from dialogsum_peft.display import SMOKE_NOTE
    from dialogsum_peft.methods import METHODS, peft_config

    nb, run_dir, state, _ = executed
    for cell in code_cells(nb):
        assert cell.execution_count is not None
        assert not [o for o in cell.outputs if o.output_type == "error"]
        assert "Traceback" not in outputs_text(cell), cell.source[:200]
    assert unexpected_warnings(nb) == []  # only warnings a user can act on
    announced = outputs_text(find_cell(nb, "configs = {method: method_config"))
    assert "running in SMOKE mode" in announced and "!! SMOKE MODE" in announced

    # One table: all six rows, its protocol, the smoke note; "not measured" GPU memory on a CPU.
    table = outputs_text(find_cell(nb, TABLE_CELL))
    for row in ROWS:
        assert re.search(rf"^{re.escape(row)}\s", table, re.M), row
    assert SMOKE_NOTE in table and "protocol: mean" in table and "not measured" in table
    html = find_cell(nb, TABLE_CELL).outputs[-1].data["text/html"]  # beside the means: how many
    assert "rouge1 per dialogue vs zero-shot: higher / equal / lower (95% CI)" in html
    assert re.search(r"<td>\d+% / \d+% / \d+% \(higher: ", html)
    protocols = outputs_text(find_cell(nb, "protocol_table("))
    assert SMOKE_NOTE in protocols and "published: " in protocols
    assert "ESTIMATE" in outputs_text(find_cell(nb, "memory_estimate({"))

    # Two plots, each an image, each told it shows smoke results.
    for marker in PLOT_CELLS:
        cell = find_cell(nb, marker)
        assert len([o for o in cell.outputs if "image/png" in o.get("data", {})]) == 1, marker
        assert "smoke=" not in cell.source  # the mark comes from the runs' own results
    assert state["smoke"] is True
    assert SMOKE_NOTE in outputs_text(find_cell(nb, "side_by_side(eval_set"))  # was unmarked
    for marker in (TABLE_CELL, "protocol_table("):  # a caption above, not the columns' name
        assert_caption_above(find_cell(nb, marker).outputs[-1].data["text/plain"], SMOKE_NOTE)

    # What a learner reads: no escaped line breaks or NaN; each method's own settings only.
    assert_readable_outputs(nb)
    settings = find_cell(nb, "settings_table(configs)").outputs[-1].data["text/html"]

    def row(name):  # the cells of one row of the HTML table, one per method
        return re.findall(
            r"<td>(.*?)</td>", re.search(rf"<th>{name}</th>(.*?)</tr>", settings, re.S).group(1)
        )

    assert row("LoRA rank r") == ["32 (alpha 32)", "16 (alpha 16)", "—", "—", "—"]
    assert row("target modules") == [
        "q, v",
        "q, k, v, o, wi_0, wi_1, wo",
        "k, v, wo",
        "—",
        "every weight",
    ]

    # The config objects written in the cells are the ones the command line trains with.
    for method in METHODS:
        config = TrainConfig.from_dict(state["configs"][method])
        expected = peft_config(config, state["model_path"])
        if expected is None:
            assert method == "full" and method not in state["recorded"]
            continue
        plain = json.loads(
            json.dumps(
                expected.to_dict(),
                default=lambda v: sorted(v) if isinstance(v, (set, frozenset)) else str(v),
            )
        )
        assert state["recorded"][method] == plain, method

    # What each method saved is on disk, in the run folder.
    for method in METHODS:
        weights = (
            "model/model.safetensors" if method == "full" else "adapter/adapter_model.safetensors"
        )
        assert (run_dir / method / weights).is_file(), method


@pytest.mark.slow
def test_every_method_is_asked_the_instructions_before_and_after(executed):
    """What each method made the model forget: one row per method, before (its fresh base,
    scored before the method is applied) and after training, under the smoke mark."""
    from dialogsum_peft.display import SMOKE_NOTE
    from dialogsum_peft.settings import METHODS

    nb, _, _, _ = executed
    source = find_cell(nb, "def train_and_evaluate(").source
    assert source.index("score_instructions(model") < source.index("get_peft_model(")
    table = find_cell(nb, "forgetting_table(forgetting)").outputs[-1].data["text/plain"]
    assert_caption_above(table, SMOKE_NOTE)
    assert "normalized exact match" in table and "on 40 instructions" in table
    for method in METHODS:
        assert re.search(rf"^{re.escape(method)}\s+\d\.\d{{3}} \(", table, re.M), method


def test_markdown_says_when_a_number_is_full_modes_only():
    """Review item 6, as in the tutorial: a number only full mode has says so."""
    assert unqualified_full_mode_numbers(SOURCE) == []
