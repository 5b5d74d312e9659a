"""The Hub, as the mirror needs it: trending listings, one tree per repo, one GET per file.

Built on the official ``huggingface_hub`` client (``HfApi`` and its shared session), so the
endpoint, auth headers and error classes are the real ones; its errors become ours at this boundary.
Listing asks for every field the mirror records through ``expand=``, so no per-repo info request is
needed; a repo costs one tree request plus one GET per file it does not already have.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import httpx2
from huggingface_hub import HfApi, get_session, hf_hub_url
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import DatasetInfo, ModelInfo, SpaceInfo
from huggingface_hub.hf_api import RepoFile as _ApiRepoFile
from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, validate_repo_id

from ..errors import HubError, RepoUnavailableError, TransientHubError
from ..records import RepoFile, RepoRecord
from .download import VerifiedDownload
from .retry import transient_retrying
from .viewer import ViewerClient

logger = logging.getLogger(__name__)

MAX_PAGE = 1000
MAX_TREE_FILES = 1_000_000  # more than any repo the Hub holds (it advises under 100k): past it, a listing that never ends


@dataclass(frozen=True, slots=True)
class ListingPage:
    """One page of a listing: its repos, and the URL of the next page (None after the last)."""

    records: list[RepoRecord]
    next_url: str | None
    refused: list[tuple[str, str]] = field(default_factory=list)  # (id, why): entries not taken (see ``refusal``)


def refusal(repo_id: object) -> str | None:
    """Why a listed id is not taken (None: it is a Hub repo id). The Hub's own rule
    (``validate_repo_id``: ``owner/name`` of ASCII letters, digits, ``-_.``, no ``..`` or ``--``,
    96 characters at most a part): an id past it cannot be asked for again, and would name a
    folder like ``..`` or one too long for the file system."""
    if not isinstance(repo_id, str):
        return f"the id is a {type(repo_id).__name__}, not text"
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        return f"not a valid repo id: {str(exc).splitlines()[0]}"
    return None


class HubClient:
    """Thin, typed access to the Hub for one endpoint and token."""

    def __init__(
        self, endpoint: str, token: str | None = None, *, viewer_endpoint: str = "", viewer_timeout: float = 10.0,
        retries: int = 4,
    ) -> None:
        """``retries``: times a listing page is asked again after a failure a retry may cure."""
        self.endpoint = endpoint.rstrip("/")
        self.token = token or None
        self.retries = retries
        self.api = HfApi(endpoint=self.endpoint, token=self.token or False)
        self.viewer = ViewerClient(viewer_endpoint, self.token, timeout=viewer_timeout)

    def trending(
        self,
        repo_type: str,
        *,
        limit: int,
        expand: Iterable[str],
        record: type[RepoRecord],
        accept: Callable[[RepoRecord], bool] | None = None,
        refused: Callable[[str, str], None] | None = None,
        **params: Any,
    ) -> Iterator[tuple[int, RepoRecord]]:
        """``(rank, record)`` in trending order, at most ``limit`` accepted ones. ``expand`` names
        the fields to list, ``record`` the type each item becomes, ``params`` the server-side
        filters (``author``, ``pipeline_tag``, ``task_categories``...). An entry with an id that
        is not a repo id, or one listed again, is left out and told to ``refused(id, why)``.

        Without a client-side filter exactly one page of ``limit`` is asked for. With one, a first
        page of ``max(100, 4 * limit)`` is scanned; if fewer than ``limit`` repos pass, the listing is
        asked again for 1000 and scanned past what was seen (at most 1000 candidates in all).
        """
        page = limit if accept is None else min(MAX_PAGE, max(100, 4 * limit))
        kwargs: dict[str, Any] = {"sort": "trending_score", "expand": list(expand), **params}
        lister: dict[str, Callable[..., Iterable[Any]]] = {
            "model": self.api.list_models, "dataset": self.api.list_datasets, "space": self.api.list_spaces,
        }
        accepted = seen = 0
        ids: set[str] = set()
        with self._hub_errors(f"listing trending {repo_type}s failed", retried=True):
            for cap in (page,) if accept is None or page >= MAX_PAGE else (page, MAX_PAGE):
                # huggingface_hub sends `limit` as the page size and stops after that many items
                for rank, info in enumerate(lister[repo_type](**kwargs, limit=cap), start=1):
                    if rank <= seen:
                        continue  # seen in the first, smaller listing
                    seen = rank
                    why = refusal(info.id) or ("listed again" if info.id in ids else None)
                    if why is not None:
                        if refused is not None:
                            refused(str(info.id), why)
                        continue
                    ids.add(info.id)
                    item = record.from_api(info)
                    if accept is not None and not accept(item):
                        continue
                    yield rank, item
                    accepted += 1
                    if accepted >= limit:
                        return
                if seen < cap:
                    return  # the listing ended before the cap: there is nothing more to scan

    @contextmanager
    def _hub_errors(self, what: str, *, retried: bool = False) -> Iterator[None]:
        """The client's failures of a metadata call as :class:`HubError`: ``what: <the Hub's
        answer>``, or that the Hub could not be reached. ``retried``: the call is one of
        huggingface_hub's listings, which retry on their own."""
        try:
            yield
        except (HfHubHTTPError, json.JSONDecodeError, UnicodeDecodeError) as exc:  # the last two: huggingface_hub decoded a body cut short
            raise (_transient(what, exc, retried=retried) or HubError(f"{what}: {exc}")) from exc
        except RecursionError as exc:
            raise HubError(f"{what}: {_TOO_DEEP}") from exc
        except httpx2.TransportError as exc:
            raise TransientHubError(f"cannot reach the Hub at {self.endpoint}: {exc}", retried=retried) from exc

    def listing_pages(
        self,
        repo_type: str,
        *,
        expand: Iterable[str],
        record: type[RepoRecord],
        sort: str | None = None,
        descending: bool = False,
        page_size: int = MAX_PAGE,
        resume_url: str | None = None,
    ) -> Iterator[ListingPage]:
        """Every repo of a type, a page (one request) at a time, each with the URL of the next.

        ``huggingface_hub``'s listings follow the Hub's ``Link: <url>; rel="next"`` cursors
        internally and never show them; a walk of the whole Hub records each page's cursor so a
        killed walk resumes at the page it was on (``resume_url``) instead of at the start. The
        requests go through the same shared session, hence the same rate limiter."""
        info_type = {"model": ModelInfo, "dataset": DatasetInfo, "space": SpaceInfo}[repo_type]
        url: str | None = resume_url or f"{self.endpoint}/api/{repo_type}s"
        params: dict[str, Any] | None = None
        if resume_url is None:
            params = {"limit": min(page_size, MAX_PAGE), "expand": list(expand)}
            if sort is not None:
                params |= {"sort": sort, "direction": -1 if descending else 1}
        headers = build_hf_headers(token=self.token or False)

        def page(url: str, params: dict[str, Any] | None) -> tuple[Any, httpx2.Response]:
            with self._hub_errors(f"listing {repo_type}s failed"):
                response = get_session().get(url, params=params, headers=headers)
                hf_raise_for_status(response)
            try:
                return response.json(), response
            except ValueError as exc:  # a body cut short, most likely: asking again may cure it
                raise TransientHubError(f"listing {repo_type}s: the Hub answered something that is not JSON: {exc}") from exc
            except RecursionError as exc:
                raise HubError(f"listing {repo_type}s: {_TOO_DEEP}") from exc

        visited: set[str] = set()
        while url is not None:
            items, response = transient_retrying(self.retries, lambda: f"listing {repo_type}s")(page, url, params)
            visited.add(url)
            url = response.links.get("next", {}).get("url")
            if url is not None and url in visited:  # the Hub's cursors never go back: a loop would never end
                raise HubError(f"listing {repo_type}s: the next-page link goes back to a page already listed ({url})")
            params = None  # the next URL carries the whole query, cursor included
            if not isinstance(items, list):
                raise HubError(f"listing {repo_type}s: the Hub answered a {type(items).__name__}, not a list")
            records, refused = [], []
            for item in items:
                repo_id = item.get("id") if isinstance(item, dict) else None
                why = refusal(repo_id)
                if why is None:
                    records.append(record.from_listing(item, info_type))
                else:
                    refused.append((str(item if repo_id is None else repo_id)[:200], why))
            yield ListingPage(records, url, refused)

    def current_id(self, repo_type: str, repo_id: str) -> str | None:
        """The id the Hub answers for ``repo_id`` now: another one when it was renamed (the Hub
        redirects the old id), itself when unchanged; :class:`RepoUnavailableError` when it is gone."""
        with self._hub_errors(f"{repo_type} {repo_id}"):
            try:
                info = self.api.repo_info(repo_id, repo_type=repo_type, expand=["sha"])  # type: ignore[arg-type]  # a valid field of every type
            except (RepositoryNotFoundError, GatedRepoError, DisabledRepoError) as exc:
                raise RepoUnavailableError("not_found", f"{repo_type} {repo_id}: {exc}") from exc
        return str(info.id) if info.id else None

    def tree(self, record: RepoRecord) -> list[RepoFile]:
        """Every file of the repo at ``record.sha``: one recursive tree listing (its pages).

        A listing that names a path twice (a next-page link that loops: huggingface_hub follows
        it forever), goes past ``MAX_TREE_FILES`` or holds an entry that is not a file's is the
        repo's persistent failure, found before any file is fetched."""
        files: list[RepoFile] = []
        seen: set[str] = set()
        try:
            items = self.api.list_repo_tree(
                record.id, recursive=True, revision=record.sha, repo_type=record.type
            )
            for item in items:
                if not isinstance(item, _ApiRepoFile):
                    continue
                file = RepoFile.from_api(item)
                if file.path in seen:
                    raise HubError(f"{record.id}: the tree listing names {file.path!r} twice (its pages loop?)")
                if len(files) >= MAX_TREE_FILES:
                    raise HubError(f"{record.id}: the tree listing goes on past {MAX_TREE_FILES} files")
                seen.add(file.path)
                files.append(file)
        except HubError:
            raise
        except (json.JSONDecodeError, UnicodeDecodeError, HFValidationError) as exc:  # ValueErrors, mapped like the rest
            raise _map_error(record, exc, retried=True) from exc
        except (KeyError, TypeError, ValueError) as exc:  # from the entries' fields: the Hub's data, not a bug here
            raise HubError(f"{record.id}: the tree listing holds an entry that is not a file's: {exc!r}") from exc
        except Exception as exc:  # noqa: BLE001 - mapped or re-raised just below
            raise _map_error(record, exc, retried=True) from exc
        return files

    def open_file(
        self,
        file: RepoFile,
        repo: RepoRecord,
        *,
        on_bytes: Callable[[int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> VerifiedDownload:
        """A verifying stream over one file of ``repo`` at its listed revision (one GET)."""
        url = hf_hub_url(repo.id, file.path, repo_type=repo.type, revision=repo.sha, endpoint=self.endpoint)
        headers = build_hf_headers(token=self.token or False)
        return VerifiedDownload(
            get_session(), url, headers, file, on_bytes=on_bytes, cancel=cancel,
            map_error=lambda exc: _map_error(repo, exc),
        )


_TOO_DEEP = "the Hub's answer nests deeper than Python's JSON decoder goes (about 1000 levels)"


def _transient(what: str, exc: Exception, *, retried: bool = False) -> TransientHubError | None:
    """``exc`` as a :class:`TransientHubError` when asking again may cure it: a 5xx or a 429 (with
    the server's ``Retry-After``), a connection that failed, an answer that is not JSON (cut short);
    None for an answer that will not change (404, 401, 403, 400...). ``retried``: the call retried
    HTTP and network errors itself (huggingface_hub's listings); a body cut short it does not."""
    if isinstance(exc, HfHubHTTPError):
        response = exc.response
        status = response.status_code if response is not None else 0
        if status >= 500 or status == 429:
            return TransientHubError(f"{what}: {exc}", retry_after=_retry_after(response), retried=retried)
        return None
    if isinstance(exc, httpx2.TransportError):
        return TransientHubError(f"{what}: the connection failed: {exc!r}", retried=retried)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return TransientHubError(f"{what}: the Hub's answer is not JSON (cut short?): {exc}")
    return None


def _retry_after(response: Any) -> float | None:
    """The ``Retry-After`` header in seconds (the HTTP-date form is not used by the Hub)."""
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _map_error(record: RepoRecord, exc: Exception, *, retried: bool = False) -> Exception:
    """The client's exceptions → ours: unavailable repos are skipped with a reason, what a retry
    may cure is transient, the rest fail."""
    if isinstance(exc, GatedRepoError):
        return RepoUnavailableError("gated", "the token has no access to this gated repo")
    if isinstance(exc, RevisionNotFoundError):
        return HubError(f"{record.id}: revision {record.sha} not found (repo changed during the run?)")
    if isinstance(exc, RepositoryNotFoundError):
        return RepoUnavailableError("not_found", "not found (deleted, or private to others)")
    if isinstance(exc, DisabledRepoError):
        return RepoUnavailableError("disabled", "the Hub has disabled this repo")
    if isinstance(exc, HFValidationError):  # huggingface_hub refused the id or revision before asking
        return HubError(f"{record.id}: {str(exc).splitlines()[0]}")
    if isinstance(exc, RecursionError):
        return HubError(f"{record.id}: {_TOO_DEEP}")
    found = _transient(record.id, exc, retried=retried)
    if found is not None:
        return found
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"{record.id}: {exc}")
    return exc


