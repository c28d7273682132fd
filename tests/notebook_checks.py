"""Checks both notebooks' tests share: a committed notebook is clean and in sync with its
jupytext source, and helpers to find a code cell and read its outputs."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config


@contextlib.contextmanager
def ipc_kernel():
    """NotebookClient ``config`` for a kernel that talks over IPC, local sockets in a private
    temporary folder, as scripts/run_notebook.sh starts it: over TCP ipykernel warns that the
    traffic is unencrypted, a warning nobody running a notebook can act on. The socket path is
    absolute: jupyter_client's default, ``kernel-ipc``, is relative, and a kernel started in the
    notebook's folder would bind sockets its client, in another folder, never finds."""
    with tempfile.TemporaryDirectory(prefix="kernel-") as folder:
        yield Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "ipc")}})


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def find_cell(nb, marker: str):
    """The one code cell whose source contains ``marker``."""
    matches = [c for c in code_cells(nb) if marker in c.source]
    assert len(matches) == 1, f"expected one code cell containing {marker!r}, found {len(matches)}"
    return matches[0]


def outputs_text(cell) -> str:
    """Everything a cell showed as text: streams, plain and HTML results, error tracebacks."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts += [str(out.data.get("text/plain", "")), str(out.data.get("text/html", ""))]
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
    return "\n".join(parts)


# Warnings a notebook may show, each telling the user what to do about it; any other warning
# line, and any line on stderr, in an executed notebook is one the user cannot act on.
EXPECTED_WARNINGS = (
    # hardware.py (a full run only): no GPU, so switch the runtime (or run the smoke mode)
    r"WARNING: no GPU found\. .*Change runtime type -> GPU",
    # tokenization.py, in training and evaluation alike: the texts cut at max_source_length (or
    # max_target_length) and the setting that keeps them whole, and characters the tokenizer
    # cannot encode
    # ("2 of 10 dialogues are", or "the dialogue is" for the one dialogue an example cell draws)
    r"warning: (\d+ of \d+ .*|the [a-z ]+) (are|is) longer than max_(source|target)_length=\d+ "
    r"tokens .*raise max_(source|target)_length",
    r"warning: (\d+ of \d+ .*|the [a-z ]+) holds? \d+ characters? the tokenizer cannot encode",
)
WARNING_LINE = re.compile(r"warn|deprecat|\berror\b", re.IGNORECASE)


def unexpected_warnings(nb) -> list[str]:
    """Lines of an executed notebook's outputs that warn and are not in EXPECTED_WARNINGS: every
    line written to stderr (Python warnings, library loggers, progress bars) and every other
    output line that mentions a warning, a deprecation or an error."""
    found = []
    for cell in code_cells(nb):
        stderr = {
            line
            for o in cell.get("outputs", [])
            if o.get("name") == "stderr"
            for line in o.text.splitlines()
        }
        for line in outputs_text(cell).splitlines():  # stderr's lines are among these
            if (
                line.strip()
                and (line in stderr or WARNING_LINE.search(line))
                and not any(re.match(pattern, line) for pattern in EXPECTED_WARNINGS)
            ):
                found.append(line)
    return found


def assert_clean(notebook: Path, source: Path):
    """Valid nbformat 4.5+, unique cell ids, no outputs or counts, no tokens or local paths,
    Colab metadata for a T4 GPU runtime. Returns the notebook."""
    raw = notebook.read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)  # cell ids exist from 4.5 on
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids), "cell ids must be unique"
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id}: strip outputs"
    for text in (raw, source.read_text(encoding="utf-8")):
        assert not re.search(r"hf_[A-Za-z0-9]{20,}", text), (
            "a Hugging Face token is in the notebook"
        )
        assert not re.search(r"(?<![\w.])/(work|root|home|tmp)\b", text), "an absolute local path"
    meta = nb.metadata
    assert meta["accelerator"] == "GPU" and meta["colab"]["gpuType"] == "T4"
    assert meta["kernelspec"]["name"] == "python3"
    return nb


def assert_in_sync(notebook: Path, source: Path) -> None:
    """The .ipynb is what ``jupytext --sync`` makes of the .py (cells and Colab metadata)."""
    jupytext = pytest.importorskip("jupytext")
    py = jupytext.read(source)
    committed = nbformat.read(notebook, as_version=4)
    assert [(c.cell_type, c.source) for c in py.cells] == [
        (c.cell_type, c.source) for c in committed.cells
    ], (
        f"{notebook.name} differs from {source.name}: edit the .py, then run "
        f"jupytext --sync notebooks/{source.name} (notebooks/README.md)"
    )
    for key in ("accelerator", "colab", "kernelspec"):
        assert py.metadata[key] == committed.metadata[key], key
    compile(source.read_text(encoding="utf-8"), str(source), "exec")  # plain, lintable Python


def assert_shows(nb, calls) -> str:
    """Every one of ``calls`` is written in a code cell (the lesson is not hidden in a helper).

    Returns the code of all code cells."""
    code = "\n".join(c.source for c in code_cells(nb))
    missing = [call for call in calls if call not in code]
    assert not missing, f"no code cell shows {missing}"
    return code


def execute_in_smoke_mode(
    nb, notebook: Path, tmp: Path, env: dict[str, str] | None = None, mode: str = "smoke"
):
    """Run ``nb`` (the committed ``notebook``, perhaps with test cells added) top to bottom in
    ``mode`` (smoke unless said), writing into ``tmp/run``; the executed copy is saved as
    ``tmp/executed.ipynb``.

    The kernel imports this checkout's package, uses one torch thread (the tiny model gains
    nothing from two, and two threads fighting other jobs for a 2-core machine ran 3x slower),
    and must leave the notebooks folder and the committed file untouched.
    """
    from nbclient import NotebookClient

    before = sorted(p.name for p in notebook.parent.iterdir())
    committed = notebook.read_bytes()
    with pytest.MonkeyPatch.context() as mp, ipc_kernel() as kernel_config:
        offline = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"} if mode == "smoke" else {}
        for key, value in {
            "DIALOGSUM_MODE": mode,
            "MPLBACKEND": "Agg",
            **offline,
            "TOKENIZERS_PARALLELISM": "false",
            "DIALOGSUM_OUTPUT_DIR": str(tmp / "run"),
            **(env or {}),
        }.items():
            mp.setenv(key, value)
        client = NotebookClient(
            nb,
            timeout=600,
            kernel_name="python3",
            config=kernel_config,
            resources={"metadata": {"path": str(notebook.parent)}},
        )
        try:
            client.execute()  # raises CellExecutionError on the first failing cell
        finally:
            nbformat.write(nb, tmp / "executed.ipynb")
    assert sorted(p.name for p in notebook.parent.iterdir()) == before
    assert notebook.read_bytes() == committed
    return nb


MAX_SETTINGS_ROWS = 12


def assert_readable_outputs(nb, settings_marker: str = "settings_table(") -> None:
    """What an executed notebook shows a learner reads as it should (issue 18): no escaped
    ``\\n`` in a table or text result (dialogues show real line breaks), no ``NaN`` cell (a
    source that reports nothing shows "—"), and a settings table of at most 12 rows."""
    for cell in code_cells(nb):
        for out in cell.get("outputs", []):
            if out.output_type not in ("execute_result", "display_data"):
                continue
            shown = str(out.data.get("text/plain", "")) + str(out.data.get("text/html", ""))
            assert "\\n" not in shown, f"escaped line break in the output of:\n{cell.source[:200]}"
            assert not re.search(r"\bNaN\b", shown), f"NaN in the output of:\n{cell.source[:200]}"
    tables = [o for o in find_cell(nb, settings_marker).outputs if "text/html" in o.get("data", {})]
    assert len(tables) == 1
    body = tables[0].data["text/html"].split("<tbody>")[1]
    assert 0 < body.count("<tr") <= MAX_SETTINGS_ROWS, body


def assert_caption_above(text: str, caption: str) -> None:
    """``caption`` is a line of its own above the table (its first or second line), not in the
    columns' header, in the plain-text view."""
    lines = text.splitlines()
    assert caption in lines[:2], lines[:3]


# A split's size or a schedule's length that only DialogSum (full mode) has: the tutorial's
# smoke run reads the shipped sample (10 validation dialogues, 30 steps of 8).
FULL_MODE_NUMBERS = re.compile(r"(?<![\d,.])(500|12,460|8,000|2,500)(?![\d,])")
QUALIFIED = re.compile(r"full mode|DialogSum|flan-t5-base")


def unqualified_full_mode_numbers(source: Path) -> list[str]:
    """The sentences of a notebook's markdown cells that state a number only true in full mode
    (:data:`FULL_MODE_NUMBERS`) without saying so (:data:`QUALIFIED`): in smoke mode the cells
    below them show other numbers."""
    import jupytext

    found = []
    for cell in jupytext.read(source).cells:
        if cell.cell_type == "markdown":
            text = " ".join(cell.source.split())
            for sentence in re.split(r"(?<=[.;:!?])\s+(?=[A-Z*`(])", text):
                if FULL_MODE_NUMBERS.search(sentence) and not QUALIFIED.search(sentence):
                    found.append(sentence)
    return found
