"""Upload an export folder to a Hugging Face dataset repository with `huggingface_hub`.

Every failure (no token, no network, offline mode, a refusal from the Hub) becomes a `PushError`
with one line a person can act on; the CLI prints it without a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import StorageError
from .export import FAKECLUE_FILE, JSONL_FILE, PARQUET_FILE

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")
DATA_FILES = (FAKECLUE_FILE, JSONL_FILE, PARQUET_FILE)


class PushError(StorageError):
    pass


def check_export_dir(folder: Path) -> None:
    if not folder.is_dir():
        raise PushError(f"{folder} is not a folder; run `python -m storage export ... --out {folder}` first")
    if not any((folder / name).is_file() for name in DATA_FILES):
        raise PushError(f"{folder} does not look like an export (none of {', '.join(DATA_FILES)} in it)")


def push(folder: str | Path, repo_id: str, *, private: bool = True, token: str | None = None,
         message: str = "Add Spot the Fake feedback export") -> str:
    """Create the dataset repo if needed (private by default) and upload `folder`; returns the
    commit URL."""
    folder = Path(folder)
    if not isinstance(repo_id, str) or not REPO_RE.match(repo_id) or ".." in repo_id:
        raise PushError(f"repository must look like OWNER/NAME, got {repo_id!r}")
    check_export_dir(folder)
    try:
        from huggingface_hub import HfApi, get_token
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    except ImportError:
        raise PushError("pushing needs the huggingface_hub package (pip install huggingface_hub)") from None
    token = token or get_token()
    if not token:
        raise PushError("no Hugging Face token: set HF_TOKEN or run `hf auth login` first")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset",
                                 commit_message=message)
    except OfflineModeIsEnabled:
        raise PushError("cannot push: Hugging Face offline mode is on (unset HF_HUB_OFFLINE)") from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        hint = {401: " (is the token valid?)", 403: " (does the token have write access to this repo?)",
                404: " (does the owner exist?)"}.get(status or 0, "")
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise PushError(f"the Hugging Face Hub refused the upload to {repo_id}: {first}{hint}") from None
    except Exception as err:
        # Network failures surface as the HTTP client's own exception types (httpx's ConnectError,
        # timeouts) or as OSError; name them without a traceback.
        name = type(err).__name__
        if isinstance(err, OSError) or "Connect" in name or "Timeout" in name or "Network" in name \
                or "Transport" in name:
            from huggingface_hub import constants

            raise PushError(f"could not reach the Hugging Face Hub at {constants.ENDPOINT}: {err}") from None
        raise PushError(f"upload to {repo_id} failed: {name}: {err}") from None
    return str(getattr(info, "commit_url", info))
