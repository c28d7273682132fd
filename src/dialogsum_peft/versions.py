"""Library versions: the ones installed, and the combinations we know are broken.

Why: the notebook runs on whatever Colab's runtime holds (transformers, peft, torch come
preinstalled; requirements.txt only adds what is missing), and pip cannot express "peft 0.21.2 or
newer once transformers is 5.18 or newer". A learner who meets such a combination gets a deep
``AttributeError`` from inside peft. Here each breakage we met while testing the package sets of
docs/versions.md is written down once, with the error a learner would see and the fix: the
environment report warns about it in one line, and the code paths it breaks refuse to start with
the same line (:func:`require_working`).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from .errors import DialogSumError

# The libraries the environment report lists, in that order.
REPORTED = ("torch", "transformers", "peft", "datasets", "accelerate", "huggingface_hub")


def library_versions(names: tuple[str, ...] = REPORTED) -> dict[str, str]:
    """``{distribution name: installed version}`` for ``names`` (``"not installed"`` for a missing
    one), read from the installed packages' metadata without importing them."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class Breakage:
    """A combination of installed versions under which part of the tutorial fails.

    ``when`` maps a distribution name to a ``packaging`` specifier set; the breakage applies when
    every named package is installed at a version the specifier contains.
    """

    name: str
    when: dict[str, str]
    fails: str  # what fails, and the error a learner sees
    fix: str  # the command that mends it
    in_notebooks: bool  # a notebook meets it: the environment report warns about it

    def applies(self, versions: dict[str, str]) -> bool:
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion, Version

        for package, spec in self.when.items():
            try:
                installed = Version(versions.get(package, ""))
            except InvalidVersion:  # "not installed"
                return False
            if installed not in SpecifierSet(spec):
                return False
        return True

    def message(self, versions: dict[str, str]) -> str:
        found = ", ".join(f"{p} {versions[p]}" for p in self.when)
        return f"{found}: {self.fails}. Fix: {self.fix}, then restart the runtime"


BREAKAGES = (
    Breakage(
        "peft-seq2seq-generate",
        # transformers 5.18 renamed _prepare_encoder_decoder_kwargs_for_generation; peft 0.21.2
        # stopped calling it (found by the "colab" package set with transformers upgraded)
        {"peft": "<0.21.2", "transformers": ">=5.18"},
        "get_peft_model (task SEQ_2_SEQ_LM), PeftModel.from_pretrained and every generate of a "
        "peft model fail with AttributeError: ... has no attribute "
        "'_prepare_encoder_decoder_kwargs_for_generation'",
        "pip install -U 'peft>=0.21.2'",
        in_notebooks=True,
    ),
    Breakage(
        "cpu-multiprocess-resume",
        # transformers < 5.18 loads the optimizer state onto args.device, "cpu:0", which torch
        # cannot restore (found by the "floors" and "colab" sets' two-process CPU runs)
        {"transformers": "<5.18"},
        "resuming a run of several processes on CPUs (torchrun without a GPU) fails with "
        "RuntimeError: don't know how to restore data location of torch.storage.UntypedStorage "
        "(tagged with cpu:0); GPU runs are not affected",
        "pip install -U 'transformers>=5.18'",
        in_notebooks=False,  # the notebooks run one process; the command line refuses the resume
    ),
)


def known_breakages(versions: dict[str, str] | None = None) -> list[Breakage]:
    """The :data:`BREAKAGES` that apply to ``versions`` (default: the installed libraries)."""
    if versions is None:
        versions = library_versions(tuple({p for b in BREAKAGES for p in b.when}))
    return [b for b in BREAKAGES if b.applies(versions)]


class BrokenVersionsError(DialogSumError, RuntimeError):
    """The installed library versions are a combination known not to work for this step."""


def require_working(name: str, versions: dict[str, str] | None = None) -> None:
    """Raise :class:`BrokenVersionsError` (one line: the versions, what fails, the fix) when the
    breakage ``name`` of :data:`BREAKAGES` applies to the installed libraries."""
    for breakage in known_breakages(versions):
        if breakage.name == name:
            if versions is None:
                versions = library_versions(tuple(breakage.when))
            raise BrokenVersionsError(breakage.message(versions))
