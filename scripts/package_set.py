"""Build one of the package sets the project is tested with in a fresh venv, then run the suite.

    python3 scripts/package_set.py colab     # Colab's runtime, then the notebooks' install cell
    python3 scripts/package_set.py floors    # every requirement at the floor of its range
    python3 scripts/package_set.py colab -- -m "not slow"   # arguments after -- go to pytest

Why: requirements.txt states ranges, and a range we state is one we test at both ends; the
learners' runtime is Colab, whose packages come preinstalled. .ci/run tests three sets (the
newest releases are its first step) and docs/versions.md says what each holds:

* ``colab``: Python 3.13 (Colab's) with Colab's versions (package-sets/colab-gpu.txt) of every
  package the notebooks, the package and the tests touch, torch as PyPI's build of Colab's
  version (a CUDA build: it runs on the CPU). Then the notebooks' first cell, exactly as it runs
  in Colab (``python scripts/colab_install.py``): it must report no conflict and move no package
  the runtime had. Then the test tooling (held to Colab's versions) and the suite.
* ``floors``: Python at the floor of pyproject's requires-python, every requirement of
  requirements.txt and requirements-serve.txt at the floor of its range (a line without a floor
  is an error), resolved by uv (a floor that cannot be installed with the others is reported
  with uv's reason: raise it), then the tooling and the suite.

The venv goes to ``$PACKAGE_SET_DIR/<set>`` (default: the system's temporary folder) and is
deleted at the end unless ``--keep``. Needs the network to PyPI; the Python versions come from
pyenv (``pyenv root``) or the PATH (python3.13, python3.10).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLAB_FREEZE = ROOT / "package-sets" / "colab-gpu.txt"
COLAB_PYTHON = "3.13"
# Colab's packages this project touches: the notebooks' libraries (requirements.txt), what the
# tests run the notebooks with, and what Colab ships that pins our dependencies (gradio: it
# requires huggingface_hub < 2). pip adds their dependencies at Colab's versions.
COLAB_PACKAGES = (
    "gradio",
    "ipywidgets",
    "ipykernel",
    "ipython",
    "jupyter_client",
    "nbclient",
    "nbformat",
    "pytest",
)
# The CUDA stack of Colab's torch (2.11.0+cu128 from PyTorch's index) differs from the CUDA
# build PyPI serves for the same version: left out of the constraints, torch's own is taken.
CUDA_STACK = re.compile(r"^(nvidia-|cuda-|cupy-|triton$|jax-cuda)")
# Whether a set holds the optional serve extra (requirements-serve.txt: ctranslate2). Colab's
# runtime has no ctranslate2, so there its tests skip; where a set installs it they must run, and
# a missing ctranslate2 fails them (tests/conftest.py reads REQUIRE_CTRANSLATE2).
WITH_SERVE_EXTRA = {"colab": False, "floors": True}
REQUIRE_CTRANSLATE2 = "DIALOGSUM_REQUIRE_CTRANSLATE2"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def say(text: str) -> None:
    print(f"[package set] {text}", flush=True)


def run(*cmd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], check=kwargs.pop("check", True), **kwargs)


def find_python(version: str) -> str:
    """The newest installed CPython ``version`` (e.g. "3.13"), from pyenv or the PATH."""
    candidates = []
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
        candidates += sorted(Path(root, "versions").glob(f"{version}.*/bin/python"), reverse=True)
    except (OSError, subprocess.CalledProcessError):
        pass
    if shutil.which(f"python{version}"):
        candidates.append(Path(shutil.which(f"python{version}")))
    for python in candidates:
        if re.fullmatch(rf"{re.escape(version)}\.\d+", _python_version(python)):
            return str(python)
    sys.exit(f"error: no Python {version} found (pyenv or python{version} on the PATH)")


def _python_version(python) -> str:
    return run(
        python,
        "-c",
        "import platform; print(platform.python_version())",
        capture_output=True,
        text=True,
    ).stdout.strip()


def freeze(python: str) -> dict[str, str]:
    out = run(
        python,
        "-m",
        "pip",
        "list",
        "--format",
        "json",
        "--disable-pip-version-check",
        capture_output=True,
        text=True,
    ).stdout
    return {canonical(p["name"]): p["version"] for p in json.loads(out)}


def read_pins(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a ``pip freeze`` file, local versions (+cu128) dropped."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name)] = version.split("+")[0].strip()
    return pins


def requirement_lines(*paths: Path) -> list[str]:
    lines = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                lines.append(line)
    return lines


def floors(*paths: Path) -> dict[str, str]:
    """``{name: floor}`` of every requirement in ``paths``; exits naming a line without one."""
    result = {}
    for line in requirement_lines(*paths):
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(?:\[.*\])?\s*(.*)", line)
        name, spec = match.group(1), match.group(2)
        floor = re.search(r">=\s*([^,\s;]+)", spec)
        if not floor:
            sys.exit(
                f"error: {line!r} has no floor (>=): a range we state is one we test at both ends"
            )
        result[name] = floor.group(1)
    return result


def same_version(a: str, b: str) -> bool:
    def parts(v):
        nums = [int(x) for x in re.findall(r"\d+", v.split("+")[0])]
        while nums and nums[-1] == 0:
            nums.pop()
        return nums

    return parts(a) == parts(b)


def make_venv(python: str, folder: Path) -> str:
    shutil.rmtree(folder, ignore_errors=True)
    run(python, "-m", "venv", folder)
    venv_python = str(folder / "bin" / "python")
    say(f"venv {folder}: Python {_python_version(venv_python)}")
    return venv_python


def pip(python: str, *args, **kwargs):
    return run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args, **kwargs)


# -------------------------------------------------------------------------------- the sets
def build_colab(folder: Path) -> str:
    pins = read_pins(COLAB_FREEZE)
    python = make_venv(find_python(COLAB_PYTHON), folder)
    constraints = folder / "colab-constraints.txt"
    constraints.write_text(
        "".join(f"{n}=={v}\n" for n, v in sorted(pins.items()) if not CUDA_STACK.match(n)),
        encoding="utf-8",
    )
    say(f"torch {pins['torch']} (PyPI's build of Colab's version)")
    pip(python, f"torch=={pins['torch']}")
    wanted = {
        canonical(re.split(r"[<>=!~\[ ;]", line)[0])
        for line in requirement_lines(ROOT / "requirements.txt")
    }
    wanted = (wanted | {canonical(n) for n in COLAB_PACKAGES}) & set(pins)
    for _ in range(3):  # and whatever the install cell would add that Colab already has
        say(f"Colab's versions of {len(wanted)} packages: {', '.join(sorted(wanted))}")
        pip(python, "-c", constraints, *sorted(wanted))
        report = folder / "report.json"
        pip(python, "--dry-run", "--report", report, "-r", "requirements.txt", cwd=ROOT)
        planned = {
            canonical(i["metadata"]["name"])
            for i in json.loads(report.read_text(encoding="utf-8"))["install"]
        }
        more = (planned & set(pins)) - wanted
        if not more:
            break
        wanted |= more
    before = freeze(python)

    say("the notebooks' first cell: python scripts/colab_install.py")
    start = time.monotonic()
    cell = run(
        python, "scripts/colab_install.py", cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - start
    print(cell.stdout + cell.stderr, end="")
    if cell.returncode != 0 or "ERROR" in cell.stderr:
        sys.exit("error: the install cell failed or reported a conflict on Colab's set")
    after = freeze(python)
    moved = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    if moved:
        sys.exit(
            "error: the install cell moved packages Colab ships: "
            + ", ".join(f"{n} {a} -> {b}" for n, (a, b) in sorted(moved.items()))
        )
    added = sorted(set(after) - set(before))
    say(f"install cell: {seconds:.1f} s, no conflict, no package moved, added {', '.join(added)}")
    run(python, "-m", "pip", "check")
    pip(python, "-c", constraints, "-r", "requirements-dev.txt", cwd=ROOT)
    still = {n: v for n, v in before.items() if freeze(python).get(n) != v}
    if still:
        sys.exit(f"error: the test tooling moved Colab's packages: {sorted(still)}")
    return python


def build_floors(folder: Path) -> str:
    import tomllib  # Python 3.11+: this script runs on CI's Python; tests import it on any

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    python_floor = re.search(r">=\s*(\d+\.\d+)", requires).group(1)
    python = make_venv(find_python(python_floor), folder)
    serve = [ROOT / "requirements-serve.txt"] if WITH_SERVE_EXTRA["floors"] else []
    wanted = floors(ROOT / "requirements.txt", *serve)
    pins = folder / "floors.in"
    pins.write_text("".join(f"{n}=={v}\n" for n, v in wanted.items()), encoding="utf-8")
    pip(python, "uv")
    uv = folder / "bin" / "uv"
    lock = folder / "floors.lock"
    resolved = run(
        uv,
        "pip",
        "compile",
        "-q",
        "--python",
        python,
        pins,
        "-o",
        lock,
        capture_output=True,
        text=True,
        check=False,
    )
    if resolved.returncode != 0:
        sys.exit(
            f"error: the floors cannot be installed together: raise the floor uv names\n"
            f"{resolved.stderr}"
        )
    say(f"floors: {', '.join(f'{n} {v}' for n, v in wanted.items())}")
    run(uv, "pip", "install", "-q", "--python", python, "-r", lock)
    run(
        uv,
        "pip",
        "install",
        "-q",
        "--python",
        python,
        "-c",
        lock,
        "-r",
        "requirements-dev.txt",
        cwd=ROOT,
    )
    installed = freeze(python)
    off = {
        n: installed.get(canonical(n))
        for n, v in wanted.items()
        if not same_version(installed.get(canonical(n), ""), v)
    }
    if off:
        sys.exit(f"error: not at their floors: {off}")
    return python


BUILDERS = {"colab": build_colab, "floors": build_floors}


def suite_env(name: str, python: str, folder: Path) -> dict[str, str]:
    """The environment the suite runs in for set ``name``: the venv's Python first on the PATH,
    no install step, and whether the ctranslate2 tests must run (never inherited from the
    caller: .ci/run sets it for its own first set)."""
    return dict(
        os.environ,
        PATH=f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        DIALOGSUM_SKIP_INSTALL="1",
        VIRTUAL_ENV=str(folder),
        **{REQUIRE_CTRANSLATE2: "1" if WITH_SERVE_EXTRA[name] else "0"},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", choices=sorted(BUILDERS))
    parser.add_argument("--keep", action="store_true", help="keep the venv afterwards")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = parser.parse_args(argv)
    folder = (
        Path(os.environ.get("PACKAGE_SET_DIR", tempfile.gettempdir()))
        / f"dialogsum_peft-{args.set}"
    )
    start = time.monotonic()
    try:
        python = BUILDERS[args.set](folder)
        say(f"built in {time.monotonic() - start:.0f} s; the suite:")
        env = suite_env(args.set, python, folder)
        return run(
            "bash", "scripts/test.sh", *(args.pytest_args or ["-q"]), cwd=ROOT, env=env, check=False
        ).returncode
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
