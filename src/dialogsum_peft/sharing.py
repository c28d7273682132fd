"""Pushing an adapter folder to the Hugging Face Hub: the adapter, its tokenizer and its card,
into a private repository by default, with one line when something is missing.

Why: sharing is the last step of the tutorial, and the one where a mistake is public: a smoke
run's toy pushed under a real-looking name, a folder without its card, a token written into a
file, or a traceback from deep inside ``huggingface_hub`` when nobody is logged in. Here the
folder is checked first (its card, not the smoke toy, no token in any file), then the login
(``huggingface_hub.get_token``: ``HF_TOKEN``, a Colab secret or ``hf auth login``), then the
user name (``HfApi().whoami()``), and only then anything is created or uploaded. A token is
never printed, written or passed around: ``huggingface_hub`` reads it itself.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import AdapterError, ConfigError, DialogSumError, HubUnavailableError, one_line

# What a push uploads from the folder: the adapter, its card, the tokenizer's files.
UPLOAD_PATTERNS = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "README.md",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "spiece.model",
)
LOGIN_HINT = (
    "log in first: in a notebook run `from huggingface_hub import notebook_login; "
    "notebook_login()` (in Colab a secret named HF_TOKEN also works), in a terminal "
    "`hf auth login`, or set the HF_TOKEN environment variable; never paste a token "
    "into a cell or a file"
)


class HubLoginError(DialogSumError, RuntimeError):
    """Nobody is logged in to the Hub, or the token is refused; the message says how to log in."""


@dataclass(frozen=True)
class UploadPlan:
    """What a push sends: the ``files`` (names in ``folder``) to ``repo_id``, ``private`` or
    not; ``smoke`` when the folder holds the smoke mode's toy (its card says so; it is never
    pushed); ``pushed`` once they were sent (``url``: the repository's page)."""

    folder: Path
    repo_id: str
    files: tuple[str, ...]
    private: bool = True
    smoke: bool = False
    pushed: bool = False
    url: str | None = None

    def __str__(self) -> str:
        from .display import SMOKE_NOTE

        what = f"{len(self.files)} files ({', '.join(self.files)})"
        where = f"{'a private' if self.private else 'a public'} repository {self.repo_id}"
        if self.pushed:
            return f"pushed {what} from {self.folder} to {where}: {self.url}"
        lines = [f"would push {what} from {self.folder} to {where}"]
        if self.smoke:
            lines.insert(0, f"{SMOKE_NOTE}: this toy adapter is never pushed")
        return "\n".join(lines)


def upload_plan(
    folder, repo_id: str | None = None, user: str | None = None, private: bool = True
) -> UploadPlan:
    """What :func:`push_folder` would send, without the network: the files of ``folder`` named
    in :data:`UPLOAD_PATTERNS` that exist, to ``repo_id`` or, without one, to
    ``<user>/<the card's model name>`` (``<your-user-name>/...`` when ``user`` is unknown).

    Raises :class:`~dialogsum_peft.errors.AdapterError` when the folder has no card written by
    :mod:`dialogsum_peft.model_card` (``save_pretrained`` leaves peft's empty template), and
    ValueError for a ``repo_id`` that is not ``namespace/name``.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from .model_card import is_smoke_card, read_card

    folder = Path(folder)
    card = read_card(folder)
    if card is None:
        raise AdapterError(
            f"{folder} has no model card written by dialogsum_peft (README.md): "
            "write it first (write_model_card, or train/evaluate on the command "
            "line), so the Hub page says what the adapter is"
        )
    repo_id = repo_id or f"{user or '<your-user-name>'}/{card.data.model_name}"
    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        if user or "<" not in repo_id:
            raise ConfigError(
                f"repo_id {repo_id!r} is not a Hub repository id (namespace/name): {one_line(err)}"
            ) from None
    if "/" not in repo_id:
        raise ConfigError(f"repo_id {repo_id!r} needs a namespace: 'your-user-name/{repo_id}'")
    files = tuple(sorted(p for p in UPLOAD_PATTERNS if (folder / p).is_file()))
    return UploadPlan(folder, repo_id, files, private, smoke=is_smoke_card(card))


def require_login() -> None:
    """Raise :class:`HubLoginError` (saying how to log in) when ``huggingface_hub`` finds no
    token: none in ``HF_TOKEN``, no saved login, no Colab secret. The token is not read here
    beyond whether there is one."""
    from huggingface_hub import get_token

    if not get_token():
        raise HubLoginError(f"not logged in to the Hugging Face Hub: {LOGIN_HINT}")


@contextmanager
def hub_errors(what: str):
    """Any failure of the Hub calls inside as one line: :class:`HubLoginError` for a refused
    token (HTTP 401/403), :class:`~dialogsum_peft.errors.HubUnavailableError` (saying
    ``what``: nothing was sent) for offline mode, no network or any other Hub error."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        yield
    except DialogSumError:
        raise
    except OfflineModeIsEnabled:
        raise HubUnavailableError(
            f"{what}: the Hugging Face Hub is switched off in this process "
            "(HF_HUB_OFFLINE=1); nothing was pushed"
        ) from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in (401, 403):
            raise HubLoginError(
                f"{what}: the Hub refused the token (HTTP {status}): {LOGIN_HINT}"
            ) from None
        raise HubUnavailableError(
            f"{what}: the Hub answered HTTP {status} "
            f"({one_line(err).split(' for url')[0][:160]}); nothing was "
            "pushed"
        ) from None
    except Exception as err:  # no network: httpx's and the socket's errors alike
        raise HubUnavailableError(
            f"{what}: the Hugging Face Hub cannot be reached "
            f"({type(err).__name__}: {one_line(err)[:120]}); nothing was "
            "pushed"
        ) from None


def hub_user() -> str:
    """The logged-in user's name (``HfApi().whoami()["name"]``). Raises :class:`HubLoginError`
    without a login or for a refused token, :class:`~dialogsum_peft.errors.HubUnavailableError`
    when the Hub cannot be reached (offline mode included)."""
    from huggingface_hub import HfApi

    require_login()
    with hub_errors("asking the Hub who is logged in"):
        return HfApi().whoami()["name"]


def _refuse_unsafe(plan: UploadPlan) -> None:
    """The smoke toy and any file holding a token are never pushed."""
    from .safety import scan_for_secrets

    folder = plan.folder
    if plan.smoke:
        raise AdapterError(
            f"{folder} holds the smoke mode's toy adapter (a tiny random T5, "
            "see its card): nothing worth sharing; train in full mode first"
        )
    findings = scan_for_secrets([folder / f for f in plan.files])
    if findings:
        raise AdapterError(
            f"refusing to push: a Hub token is written in {findings[0].path}; remove it first"
        )


def push_folder(
    folder, repo_id: str | None = None, private: bool = True, dry_run: bool = False
) -> UploadPlan:
    """Push the adapter, tokenizer and card of ``folder`` (already checked as an adapter folder)
    to ``repo_id`` (default ``<your user name>/<the card's model name>``), creating the
    repository (private unless ``private=False``) if needed; returns the :class:`UploadPlan`,
    ``pushed`` and with its ``url``.

    ``dry_run``: the plan only, nothing checked beyond the folder and nothing sent. Otherwise the
    order is: the card and the repository id (:func:`upload_plan`), the smoke toy and files
    holding a token (refused), the login (:func:`require_login`), the user name
    (:func:`hub_user`, the first call over the network), then ``create_repo`` and
    ``upload_folder``.
    Errors: :class:`~dialogsum_peft.errors.AdapterError`, :class:`HubLoginError`,
    :class:`~dialogsum_peft.errors.HubUnavailableError`, each one line.
    """
    folder = Path(folder)
    if dry_run:
        return upload_plan(folder, repo_id, private=private)
    plan = upload_plan(folder, repo_id, private=private)  # the card and the id, before the login
    _refuse_unsafe(plan)  # the toy, a token in a file
    require_login()
    if not repo_id:
        plan = upload_plan(folder, user=hub_user(), private=private)
    from huggingface_hub import HfApi

    api = HfApi()
    with hub_errors(f"pushing to {plan.repo_id}"):
        url = api.create_repo(plan.repo_id, private=private, exist_ok=True)
        api.upload_folder(
            folder_path=str(folder),
            repo_id=plan.repo_id,
            allow_patterns=list(plan.files),
            commit_message="Upload adapter, tokenizer and model card (dialogsum_peft)",
        )
    return UploadPlan(folder, plan.repo_id, plan.files, private, pushed=True, url=str(url))


# ------------------------------------------------ the notebook's share step: card, then push
def write_model_card(
    adapter_dir,
    config,
    tuned=None,
    zero_shot=None,
    *,
    split: str = "test",
    trained_here: bool = True,
    world_size: int = 1,
    steps: int | None = None,
    backend: str = "transformers",
) -> Path:
    """Write the adapter folder's ``README.md``, a model card made with ``huggingface_hub``'s
    ``ModelCard`` (:mod:`dialogsum_peft.model_card`: what it says); returns its path.

    ``config``: the run's :class:`~dialogsum_peft.config.TrainConfig`. ``tuned`` and
    ``zero_shot``: the adapter's and the base's :class:`~dialogsum_peft.metrics.EvalResult` on
    the same dialogues of ``split`` (``None``: not evaluated yet). ``trained_here``: the adapter
    was trained in this session, on this machine (its device and library versions go into the
    card, with ``world_size`` processes and ``steps``); ``False`` (an evaluation) keeps what the
    folder's card recorded of the training and replaces its results. Raises
    :class:`~dialogsum_peft.errors.AdapterError` for a folder that is not a sound adapter, and
    for a README.md someone wrote (only ours or peft's empty template is replaced).
    """
    from .adapters import check_adapter_dir
    from .atomic import write_text_atomic
    from .model_card import (
        CARD,
        CardEvaluation,
        TrainingFacts,
        build_card,
        check_replaceable,
        read_card,
        with_evaluation,
    )

    path = check_adapter_dir(adapter_dir)
    check_replaceable(path)  # a card someone wrote by hand is never overwritten
    evaluation = None if tuned is None else CardEvaluation(tuned, zero_shot, split, backend)
    card = None if trained_here else read_card(path)
    if card is not None and evaluation:
        card = with_evaluation(card, config, evaluation)
    elif card is None:
        training = TrainingFacts.here(world_size, steps) if trained_here else None
        card = build_card(path, config, training, evaluation)
    write_text_atomic(path / CARD, str(card))
    return path / CARD


def push_adapter(
    adapter_dir, repo_id: str | None = None, private: bool = True, dry_run: bool = False
):
    """Push the adapter, its tokenizer and its card to the Hugging Face Hub, into a private
    repository unless ``private=False``; ``repo_id`` defaults to ``<your user name>/<the card's
    model name>``. Returns the :class:`UploadPlan` (the repository, the
    files, its ``url`` once pushed); ``dry_run``: what would be pushed, nothing sent.

    Checked first, each refusal one line: a sound adapter folder (:func:`~dialogsum_peft.adapters.check_adapter_dir`)
    with its card (:func:`write_model_card`), not the smoke mode's toy, no token in any file,
    a login (:class:`HubLoginError` says how to log in), in that order
    (:func:`push_folder`).
    """
    from .adapters import check_adapter_dir

    return push_folder(check_adapter_dir(adapter_dir), repo_id, private, dry_run)
