"""The front page and the documentation pages: short, every link resolves, nothing internal.

README.md is the learner's front page (at most 1,500 words; within its first 40 lines the Colab
badge, what to expect and how to train on one's own data); reference material lives in docs/.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "notebooks" / "README.md",
    ROOT / "benchmarks" / "README.md",
]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^```.*?^```", "", text)  # '#' lines inside code blocks are not headings
    return {slug(m.group(1)) for m in re.finditer(r"(?m)^#+ (.+)$", text)}


def test_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.split()) <= 1500
    top = "\n".join(text.splitlines()[:40])
    assert "colab-badge.svg" in top and "dialogsum_lora.ipynb" in top
    assert "## What to expect" in top and "## Fine-tune on your own dialogues" in top
    assert "bash scripts/run_notebook.sh" in top and "bash scripts/test.sh" in top


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(target)
    assert broken == []


def test_every_docs_page_is_linked_from_the_front_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, page.name


def test_no_internal_wording_or_issue_numbered_files():
    """The product speaks to its users: no notes about the machine or session a text was
    written in, no file named after a work item."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [f for f in files if re.search(r"issue[-_]?\d", f, re.I)] == []
    internal = re.compile(
        r"no GPU in (this|the) session|the machine (it|this text) was written on|"
        r"speed issue|issue \d+",
        re.I,
    )
    product = [
        f
        for f in files
        if f.endswith((".md", ".py", ".sh", ".ipynb", ".txt", ".toml"))
        and not f.startswith("tests/")
    ]
    hits = [
        f"{f}: {m.group(0)}"
        for f in product
        for m in internal.finditer((ROOT / f).read_text(encoding="utf-8", errors="replace"))
    ]
    assert hits == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_a_page_names_exists(page):
    """A page that cites ``tests/test_x.py`` or ``src/dialogsum_peft/x.py`` as proof points at a
    file that is there (test files are named after the module they test, and get renamed)."""
    text = page.read_text(encoding="utf-8")
    named = set(
        re.findall(r"\b((?:tests|src/dialogsum_peft|benchmarks|scripts)/[\w/]+\.(?:py|sh))", text)
    )
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert not missing, f"{page.name} names files that do not exist: {missing}"


def test_skip_reasons_say_what_shared_is():
    """Issue 32 (11): skip reasons named ../shared without saying what it is. Every test that
    needs it gives its reason through conftest.needs_shared."""
    import re

    from conftest import needs_shared

    tests = Path(__file__).resolve().parent
    for path in tests.glob("test_*.py"):
        for reason in re.findall(r"(?:reason=|pytest\.skip\()\s*f?\"([^\"]*)\"", path.read_text()):
            assert "shared" not in reason, (path.name, reason)
    reason = needs_shared("dialogsum")
    assert reason.startswith(
        "needs ../shared/dialogsum: ../shared is a folder beside this "
        "repository, never part of it, that holds the real DialogSum files"
    )
