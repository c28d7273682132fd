"""Talking to the Hugging Face Hub, with one clear message when it cannot be reached.

Why: offline, `from_pretrained` and `load_dataset` fail after retries with a chain of
tracebacks. The tutorial turns that into one sentence that says what failed, that an offline
smoke mode exists, and how to pick it (``DIALOGSUM_MODE=smoke``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

HUB_HOST = "huggingface.co"


class HubUnavailableError(RuntimeError):
    """The Hub could not give us a model or dataset (offline, or the id does not exist)."""


def hub_reachable(timeout: float = 3.0) -> bool:
    """True when huggingface.co answers on port 443 and offline mode is not forced."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
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

        types += [getattr(errors, n) for n in ("HfHubHTTPError", "RepositoryNotFoundError",
                                               "LocalEntryNotFoundError") if hasattr(errors, n)]
    except ImportError:  # pragma: no cover - huggingface_hub always comes with transformers
        pass
    try:
        from datasets.exceptions import DatasetNotFoundError

        types.append(DatasetNotFoundError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


@contextlib.contextmanager
def offline_libraries() -> Iterator[None]:
    """Switch huggingface_hub (and datasets, if loaded) to offline mode for a moment.

    Offline they answer from the local cache at once instead of retrying an unreachable Hub
    for about a minute; anything already downloaded still loads.
    """
    from huggingface_hub import constants

    patched = [(constants, "HF_HUB_OFFLINE")]
    if "datasets.config" in sys.modules:
        patched.append((sys.modules["datasets.config"], "HF_HUB_OFFLINE"))
    saved = [(mod, name, getattr(mod, name)) for mod, name in patched]
    try:
        for mod, name in patched:
            setattr(mod, name, True)
        yield
    finally:
        for mod, name, value in saved:
            setattr(mod, name, value)


def hub_call(fn: Callable[[], T], what: str, reachable: Callable[[], bool] = hub_reachable) -> T:
    """Run ``fn`` (a Hub download); turn any Hub failure into one :class:`HubUnavailableError`.

    When the Hub does not answer, ``fn`` runs in offline mode: a cached model or dataset loads,
    anything else fails in seconds rather than after a minute of retries.
    """
    try:
        if reachable():
            return fn()
        with offline_libraries():
            return fn()
    except _hub_error_types() as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise HubUnavailableError(
            f"Could not load {what} from the Hugging Face Hub ({reason}). "
            "Check the name and your internet connection. Without the Hub, run the offline "
            "smoke path: set DIALOGSUM_MODE=smoke (notebook) or use --preset smoke (command line)."
        ) from None
