"""dialogsum_peft.safety and the package's loading: never trust_remote_code, torch.load only with
weights_only=True (ours and the installed Trainer's on resume)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "dialogsum_peft"


def _calls(tree, attr):
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == attr
        ):
            yield node


def test_never_trust_remote_code_and_torch_load_weights_only():
    sources = {p: p.read_text() for p in SRC.rglob("*.py")}
    assert len(sources) >= 10
    for path, text in sources.items():
        assert not re.search(r"trust_remote_code\s*=\s*True", text), path
        for call in _calls(ast.parse(text), "load"):
            if isinstance(call.func.value, ast.Name) and call.func.value.id == "torch":
                kw = {k.arg: k.value for k in call.keywords}
                assert (
                    isinstance(kw.get("weights_only"), ast.Constant)
                    and kw["weights_only"].value is True
                ), path


def test_installed_trainer_resumes_with_weights_only():
    """Resuming unpickles optimizer.pt, scheduler.pt and rng_state.pth: the installed Trainer
    must do it with ``weights_only=True`` (it never loads the pickled training_args.bin)."""
    import transformers.trainer as trainer_module

    tree = ast.parse(Path(trainer_module.__file__).read_text())
    loads = [
        c
        for c in _calls(tree, "load")
        if isinstance(c.func.value, ast.Name) and c.func.value.id == "torch"
    ]
    assert loads
    for call in loads:
        kw = {k.arg: k.value for k in call.keywords}
        assert (
            isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
        ), call.lineno
    assert (
        "training_args.bin"
        not in Path(trainer_module.__file__)
        .read_text()
        .split("def _load_from_checkpoint")[1]
        .split("\n    def ")[0]
    )
