"""Talking to the Hugging Face Hub, with one clear message when it cannot be reached.

Why: offline, ``from_pretrained`` and ``load_dataset`` fail after a minute of retries with a
chain of tracebacks. Here a quick probe decides first; when the Hub does not answer, loads use
the libraries' documented offline switches (``local_files_only=True`` for models and tokenizers,
``HF_HUB_OFFLINE=1`` set before the libraries are imported for datasets), so a cached copy still
loads and anything else fails in seconds with one sentence that points to the smoke mode.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import TypeVar

from .errors import HubUnavailableError

T = TypeVar("T")

HUB_HOST = "huggingface.co"
SMOKE_HINT = (
    "Without the Hub, use local folders: a save_pretrained copy of the model "
    "(--model DIR; notebook: MODEL) and your data as a folder (--dataset DIR; "
    "notebook: DATA), or run the offline smoke path: --preset smoke (command line) or "
    "DIALOGSUM_MODE=smoke (notebook)."
)


def offline_forced() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when huggingface.co answers on port 443 and offline mode is not forced."""
    if offline_forced():
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _hub_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [OSError, ConnectionError]
    try:  # every huggingface_hub error derives from one of these
        from huggingface_hub import errors

        types += [
            getattr(errors, n)
            for n in ("HfHubHTTPError", "RepositoryNotFoundError", "LocalEntryNotFoundError")
            if hasattr(errors, n)
        ]
    except ImportError:  # pragma: no cover - huggingface_hub always comes with transformers
        pass
    try:
        from datasets.exceptions import DatasetNotFoundError

        types.append(DatasetNotFoundError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


def _unavailable(what: str, reason: str) -> HubUnavailableError:
    return HubUnavailableError(
        f"Could not load {what} from the Hugging Face Hub ({reason}). "
        f"Check the name and your internet connection. {SMOKE_HINT}"
    )


def hub_call(
    fn: Callable[[bool], T], what: str, reachable: Callable[[], bool] = hub_reachable
) -> T:
    """Run ``fn(local_files_only)``, a Hub load; any Hub failure becomes one HubUnavailableError.

    ``local_files_only`` is True when the Hub does not answer: the load then uses the local cache
    only (``from_pretrained``'s documented switch) and fails at once when nothing is cached.
    """
    try:
        return fn(not reachable())
    except _hub_error_types() as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _unavailable(what, reason) from None


def load_hub_dataset(name: str, reachable: Callable[[], bool] = hub_reachable):
    """``datasets.load_dataset(name)``, failing fast with one message when the Hub is away.

    ``load_dataset`` has no per-call offline switch: its offline mode is ``HF_HUB_OFFLINE=1``
    read at import. Without the Hub and without that mode it would retry for about a minute, so
    we stop at once instead (a cached copy loads when the variable was set before the import).
    """
    import datasets

    if not datasets.config.HF_HUB_OFFLINE and not reachable():
        raise _unavailable(
            f"dataset '{name}'",
            "the Hub did not answer; to use a cached copy, "
            "set HF_HUB_OFFLINE=1 before starting Python",
        )
    return hub_call(
        lambda _offline: datasets.load_dataset(name),
        what=f"dataset '{name}'",
        reachable=lambda: True,
    )
