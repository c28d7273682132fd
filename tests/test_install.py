"""scripts/install.sh picks the torch that fits the machine, and the requirements are split so
that Colab installs only what the notebooks use.

Only the default package index is reachable where the tests run, so the torch decision is tested
with the script's DRY_RUN=1 (every decision made for real, the pip commands printed instead of
run): a real Python with torch (this one), a real Python without (a fresh venv), a stand-in
``nvidia-smi`` on the PATH, a local HTTP server standing in for PyTorch's CPU index, and a
closed port for an index that cannot be reached."""

from __future__ import annotations

import ast
import functools
import http.server
import importlib.metadata
import os
import re
import socket
import subprocess
import sys
import threading
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install.sh"
TOOLING = {"jupyter", "jupytext", "nbclient", "nbformat", "ipykernel", "pytest", "ruff"}


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~\[ ]", line)[0].lower().replace("_", "-"))
    return names


# ------------------------------------------------------------------------ the requirements split
def test_colab_installs_the_notebooks_libraries_and_no_tooling():
    runtime = requirement_names(ROOT / "requirements.txt")
    runtime |= requirement_names(ROOT / "requirements-serve.txt") - runtime
    dev_text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert not runtime & TOOLING, f"tooling in requirements.txt: {runtime & TOOLING}"
    assert {
        "torch",
        "transformers",
        "peft",
        "datasets",
        "evaluate",
        "rouge-score",
        "accelerate",
    } <= runtime
    assert re.search(r"^-r requirements\.txt$", dev_text, re.M)
    assert TOOLING <= requirement_names(ROOT / "requirements-dev.txt")
    for name in ("dialogsum_lora.py", "peft_methods.py"):  # the Colab cell installs the small file
        source = (ROOT / "notebooks" / name).read_text(encoding="utf-8")
        assert "%pip" not in source
        assert re.findall(r"subprocess\.run\(\[sys\.executable, \"scripts[^\n]*", source) == [
            COLAB_INSTALL_CALL
        ], name
    script = (ROOT / "scripts" / "colab_install.py").read_text(encoding="utf-8")
    assert (
        re.search(r'"-r",\s*str\(requirements\)', script) and 'ROOT / "requirements.txt"' in script
    )


# The notebooks' first cell in Colab; .ci/run's "colab" set runs the same command.
COLAB_INSTALL_CALL = (
    'subprocess.run([sys.executable, "scripts/colab_install.py"], check=False).returncode:'
)


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


# Imported only where present, with a fallback without them: gradio (Colab preinstalls it) serves
# the tutorial's Try-it page; without it the cell prints the comparison (tests/test_try_it.py).
OPTIONAL_IMPORTS = {"gradio"}


def test_every_library_the_notebooks_and_package_import_is_in_requirements_txt():
    """What Colab installs covers every import of the notebooks and the package (IPython comes
    with any Jupyter kernel, google.colab exists only in Colab), except the optional serving
    extra (requirements-serve.txt: ctranslate2), whose absence is one error line or a fallback
    (tests/test_export.py)."""
    files = [*(ROOT / "notebooks").glob("*.py"), *(ROOT / "src" / "dialogsum_peft").glob("*.py")]
    modules = set().union(*map(_top_level_imports, files))
    modules -= set(sys.stdlib_module_names) | {"dialogsum_peft", "IPython", "google", "__future__"}
    modules -= OPTIONAL_IMPORTS
    owners = importlib.metadata.packages_distributions()
    runtime = requirement_names(ROOT / "requirements.txt")
    runtime |= requirement_names(ROOT / "requirements-serve.txt") - runtime
    # a module that is not installed here (the optional ctranslate2) is its own distribution
    missing = {
        m: owners.get(m)
        for m in modules
        if not {d.lower().replace("_", "-") for d in owners.get(m, [m])} & runtime
    }
    assert not missing, f"imported but not in requirements.txt: {missing}"


def test_the_test_command_lints_and_checks_the_format_before_the_tests():
    """README's test command (and .ci/run through it): ruff check and ruff format --check, with
    the ruff requirements-dev.txt pins exactly (a newer ruff formats differently), then pytest."""
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    steps = [
        line.split("#")[0].strip()
        for line in script.splitlines()
        if line.startswith(("python3 -m", "exec python3 -m"))
    ]
    assert steps[:2] == [
        "python3 -m ruff check --quiet .",
        "python3 -m ruff format --check --quiet .",
    ]
    assert steps[-1] == 'exec python3 -m pytest "$@"'
    pins = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
        if line.startswith("ruff")
    ]
    assert len(pins) == 1 and re.fullmatch(r"ruff==\d+\.\d+\.\d+", pins[0]), pins
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_scripts_install_through_install_sh():
    for script in ("test.sh", "run_notebook.sh"):
        text = (ROOT / "scripts" / script).read_text(encoding="utf-8")
        assert "bash scripts/install.sh" in text and "pip install" not in text, script
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "TORCH_CPU_INDEX_URL" in readme and "requirements-dev.txt" in readme


# ------------------------------------------------------------------------ the torch decision
@pytest.fixture(scope="module")
def python_without_torch(tmp_path_factory):
    """A real Python that has no torch: a fresh virtual environment (no pip needed for a dry run)."""
    env = tmp_path_factory.mktemp("venv") / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    assert subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0
    return python


@pytest.fixture(scope="module")
def cpu_index(tmp_path_factory):
    """A local simple index that lists torch, standing in for PyTorch's CPU wheel index."""
    root = tmp_path_factory.mktemp("index")
    (root / "torch").mkdir()
    (root / "torch" / "index.html").write_text("<html><body></body></html>\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def closed_port_url() -> str:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/whl/cpu"


def dry_run(tmp_path, python, index_url, gpu: bool, requirements: str | None = None):
    """The script's output lines and the pip commands it would run, in order."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if gpu:
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\necho 'GPU 0: stand-in'\n")
        smi.chmod(0o755)
    # The PATH without any real nvidia-smi (in case the tests run on a GPU machine).
    path = [
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "nvidia-smi").exists()
    ]
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(bin_dir), *path]),
        "DRY_RUN": "1",
        "PYTHON": str(python),
        "TORCH_CPU_INDEX_URL": index_url,
    }
    result = subprocess.run(
        ["bash", str(SCRIPT), *([requirements] if requirements else [])],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    commands = [line[2:] for line in lines if line.startswith("+ ")]
    assert all(" -m pip install " in c and c.startswith(str(python)) for c in commands), commands
    return [line for line in lines if not line.startswith("+ ")], commands


def test_an_installed_torch_is_kept_as_it_is(tmp_path, cpu_index):
    version = importlib.metadata.version("torch")
    for gpu in (False, True):
        messages, commands = dry_run(tmp_path, sys.executable, cpu_index, gpu=gpu)
        assert messages == [f"torch {version} is installed: keeping it"]
        assert len(commands) == 1 and commands[0].endswith("-r requirements-dev.txt")
        assert " -c " in commands[0]  # held to the installed version while the rest installs


def test_a_machine_with_an_nvidia_gpu_gets_the_default_build(
    tmp_path, python_without_torch, cpu_index
):
    messages, commands = dry_run(tmp_path, python_without_torch, cpu_index, gpu=True)
    assert messages == [
        "torch: NVIDIA GPU found (nvidia-smi), installing PyPI's default (CUDA) build"
    ]
    assert len(commands) == 1 and "--index-url" not in commands[0]
    assert commands[0].endswith("-r requirements-dev.txt")


def test_a_machine_without_gpu_gets_the_cpu_build_first(tmp_path, python_without_torch, cpu_index):
    messages, commands = dry_run(
        tmp_path, python_without_torch, cpu_index, gpu=False, requirements="requirements.txt"
    )
    assert messages == [
        f"torch: no NVIDIA GPU (no nvidia-smi), installing the CPU build from {cpu_index}"
    ]
    torch_range = re.search(r"^torch[^#\s]*", (ROOT / "requirements.txt").read_text(), re.M)[0]
    assert len(commands) == 2
    assert commands[0].endswith(
        f"install -q --disable-pip-version-check {torch_range} --index-url {cpu_index}"
    )
    assert commands[1].endswith("-r requirements.txt") and "--index-url" not in commands[1]


def test_an_unreachable_cpu_index_falls_back_and_says_what_it_costs(tmp_path, python_without_torch):
    url = closed_port_url()
    messages, commands = dry_run(tmp_path, python_without_torch, url, gpu=False)
    assert len(messages) == 1
    assert messages[0].startswith(
        f"warning: PyTorch's CPU wheel index ({url}) cannot be reached: "
        "installing PyPI's default torch instead"
    )
    assert "CUDA build: about 5 GB" in messages[0] and "TORCH_CPU_INDEX_URL" in messages[0]
    assert len(commands) == 1 and "--index-url" not in commands[0]


def test_a_missing_requirements_file_is_one_error_line(tmp_path):
    result = subprocess.run(
        ["bash", str(SCRIPT), "no-such.txt"],
        capture_output=True,
        text=True,
        env={**os.environ, "DRY_RUN": "1"},
    )
    assert (
        result.returncode == 2 and result.stderr == "error: no requirements file at no-such.txt\n"
    )


# ------------------------------------------------------------- the notebooks' install in Colab
def _wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel of one module (a real wheel: pip installs it offline)."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": "Metadata-Version: 2.1\n"
        f"Name: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


@pytest.mark.slow
def test_colab_install_names_what_it_added_and_what_it_upgraded(tmp_path):
    """The notebooks' first cell in Colab: one line of what was installed, nothing to restart
    when only new packages came; an upgrade of a package the runtime had is named, with the
    restart it needs; a failure is error lines and exit status 1, no traceback."""
    env_dir = tmp_path / "runtime"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    preinstalled = _wheel(wheels, "colabpkg", "1.0")
    newer = _wheel(wheels, "colabpkg", "2.0")
    added = _wheel(wheels, "addedpkg", "0.3", requires=("colabpkg>=1.0",))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull)
    subprocess.run([python, "-m", "pip", "install", "-q", preinstalled], check=True, env=env)

    def cell(*lines: str) -> subprocess.CompletedProcess:
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("\n".join(lines) + "\n")
        return subprocess.run(
            [python, ROOT / "scripts" / "colab_install.py", requirements],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    first = cell(str(added), "colabpkg>=1.0")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"installed in \d+ s: addedpkg 0\.3\n", first.stdout)
    again = cell(str(added), "colabpkg>=1.0")
    assert again.stdout.endswith("nothing (all requirements were already met)\n")
    upgrade = cell(str(newer))
    assert upgrade.returncode == 0
    assert "upgraded: colabpkg 1.0 -> 2.0. Restart the runtime" in upgrade.stdout
    missing = cell("colabpkg>=3.0")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("error: pip could not install requirements.txt:\nERROR")
    assert "Traceback" not in missing.stderr
