"""Talking to the Hugging Face Hub, with one clear message when it cannot be reached.

Why: offline, `from_pretrained` and `load_dataset` fail after retries with a chain of
tracebacks. The tutorial turns that into one sentence that says what failed, that an offline
smoke mode exists, and how to pick it (``DIALOGSUM_MODE=smoke``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
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


def hub_call(fn: Callable[[], T], what: str) -> T:
    """Run ``fn`` (a Hub download); turn any Hub failure into one :class:`HubUnavailableError`."""
    try:
        return fn()
    except _hub_error_types() as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise HubUnavailableError(
            f"Could not load {what} from the Hugging Face Hub ({reason}). "
            "Check the name and your internet connection. Without the Hub, run the offline "
            "smoke path: set DIALOGSUM_MODE=smoke (notebook) or use --preset smoke (command line)."
        ) from None
