"""What the notebooks' first cell runs in Colab: install requirements.txt into this Python, say in
one line what was installed, and ask for a restart only when one is needed.

    python scripts/colab_install.py                   # requirements.txt (the cell's way)
    python scripts/colab_install.py other-requirements.txt

Why a script and not ``%pip install``: the magic prints "you may need to restart the kernel"
after every install, even when nothing that was already imported changed, and a learner cannot
tell whether to restart. Colab's own packages meet every range in requirements.txt
(docs/versions.md), so pip only adds what the runtime lacks; this script reads pip's installation
report and says so. An upgrade of a package the runtime already had is named, with the restart
it needs. A resolver conflict or a failed install ends in ``error:`` lines and exit status 1.
Only the standard library: it runs before anything is installed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed_versions() -> dict[str, str]:
    """``{canonical distribution name: version}`` of this Python's installed packages."""
    return {
        _canonical(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
        if d.metadata["Name"]
    }


def install(requirements: Path = ROOT / "requirements.txt") -> tuple[list[str], list[str], str]:
    """``pip install -r requirements`` (quiet) with an installation report.

    Returns ``(added, upgraded, pip's stderr)``: "name version" of each package new to this
    Python, and "name old -> new" of each it already had. Raises ``RuntimeError`` with pip's
    error lines when pip fails.
    """
    before = installed_versions()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
                "--report",
                str(report),
            ],
            cwd=requirements.parent,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(_error_lines(done.stderr) or f"pip exited with {done.returncode}")
        items = json.loads(report.read_text(encoding="utf-8")).get("install", [])
    added, upgraded = [], []
    for item in items:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        old = before.get(_canonical(name))
        if old is None:
            added.append(f"{name} {version}")
        elif old != version:
            upgraded.append(f"{name} {old} -> {version}")
    importlib.invalidate_caches()  # the new packages import in this very process
    return added, upgraded, done.stderr


def _error_lines(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if line.startswith("ERROR"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    requirements = Path(argv[0]).resolve() if argv else ROOT / "requirements.txt"
    start = time.monotonic()
    try:
        added, upgraded, stderr = install(requirements)
    except RuntimeError as err:
        print(f"error: pip could not install {requirements.name}:\n{err}", file=sys.stderr)
        return 1
    conflict = _error_lines(stderr)
    if conflict:  # pip installed, but says the result breaks a package the runtime holds
        print(f"error: the install left a dependency conflict:\n{conflict}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - start
    what = ", ".join(added) if added else "nothing (all requirements were already met)"
    print(f"installed in {seconds:.0f} s: {what}")
    if upgraded:
        print(
            f"upgraded: {', '.join(upgraded)}. Restart the runtime (Runtime -> Restart session), "
            "then run the notebook again from the top: the old versions may already be loaded."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
