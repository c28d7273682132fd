"""Keep Hugging Face tokens out of everything a run writes.

Why: a tutorial run writes configs, trainer state, adapter folders and notebook outputs that
people commit, upload or share. A Hub token must only ever come from the environment
(``HF_TOKEN``) or ``notebook_login()`` and must never land in any of those files.
:func:`scan_for_secrets` looks through files and folders for anything token-shaped (and for
the exact value of the token variables set in this process) and reports where, without ever
repeating the secret itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# User access tokens look like "hf_" followed by 34 letters and digits; 30+ leaves a margin.
TOKEN_PATTERNS = {
    "huggingface token": re.compile(rb"hf_[A-Za-z0-9]{30,}"),
    "huggingface org/api token": re.compile(rb"api_org_[A-Za-z0-9]{30,}"),
}
TOKEN_ENV_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN")
MAX_SCAN_BYTES = 200 * 1024 * 1024  # larger files (full model weights) are not scanned


@dataclass(frozen=True)
class Finding:
    """One place a secret was found. ``excerpt`` is redacted: the secret is never repeated."""

    path: str
    offset: int
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path} (byte {self.offset}): {self.kind} {self.excerpt}"


def redact(secret: str | bytes) -> str:
    """``hf_ab…yz``: enough to recognise a token, not enough to use it."""
    text = secret.decode("ascii", "replace") if isinstance(secret, bytes) else secret
    return f"{text[:5]}…{text[-2:]}" if len(text) > 10 else "…"


def _env_secrets() -> list[bytes]:
    values = []
    for name in TOKEN_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if len(value) >= 8:  # shorter values are placeholders, not secrets worth matching
            values.append(value.encode())
    return values


def _files(paths: Iterable[str | os.PathLike]) -> Iterable[Path]:
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"nothing to scan at {path}")


def scan_for_secrets(
    paths: Iterable[str | os.PathLike] | str | os.PathLike, extra_secrets: Iterable[str] = ()
) -> list[Finding]:
    """Every token-shaped string in the files under ``paths`` (files or folders, recursively).

    Files are read as bytes, so pickles (``training_args.bin``) and notebooks are covered too.
    Besides the ``hf_...`` pattern, the exact values of ``HF_TOKEN`` /
    ``HUGGING_FACE_HUB_TOKEN`` in this process and ``extra_secrets`` are searched for.
    Returns an empty list when nothing was found.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    literal = _env_secrets() + [s.encode() for s in extra_secrets if s]
    findings: list[Finding] = []
    for file in _files(paths):
        if file.stat().st_size > MAX_SCAN_BYTES:
            continue
        data = file.read_bytes()
        seen: set[int] = set()
        for kind, pattern in TOKEN_PATTERNS.items():
            for m in pattern.finditer(data):
                seen.add(m.start())
                findings.append(Finding(str(file), m.start(), kind, redact(m.group())))
        for secret in literal:
            start = data.find(secret)
            while start != -1:
                if start not in seen:
                    findings.append(
                        Finding(str(file), start, "token from the environment", redact(secret))
                    )
                start = data.find(secret, start + 1)
    return findings
