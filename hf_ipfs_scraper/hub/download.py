"""One GET per file, streamed, resumed with Range after a dropped connection, verified at the end.

A :class:`VerifiedDownload` is a readable binary stream: the UnixFS importer reads it straight into
its chunk buffers, so a file never sits whole in memory. While bytes pass through, they are hashed
the way the Hub identifies them — sha256 for LFS files, the git blob sha1 for the rest — and the
stream raises :class:`IntegrityError` at its end if size or hash differ, before anything is recorded.
"""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any, Callable, Iterator

import httpx2
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import hf_raise_for_status

from ..errors import HubError, IntegrityError, TransientHubError
from ..records import RepoFile

logger = logging.getLogger(__name__)

MAX_RESUMES = 5
_REFUSED = (401, 403, 404, 410)  # what a CDN answers to a signed URL that expired


class Cancelled(HubError):
    """The run is stopping (Ctrl-C); the file was not recorded and will be fetched next time."""


class VerifiedDownload(io.RawIOBase):
    def __init__(
        self,
        session: httpx2.Client,
        url: str,
        headers: dict[str, str],
        file: RepoFile,
        *,
        on_bytes: Callable[[int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        map_error: Callable[[Exception], Exception] | None = None,
    ) -> None:
        super().__init__()
        self._on_bytes = on_bytes
        self._cancel = cancel
        self._map_error = map_error
        self._resume_url: str | None = None  # where the first GET ended up (the CDN for LFS files)
        self._session = session
        self._url = url
        self._headers = headers
        self.file = file
        self._hash = hashlib.sha256() if file.lfs_sha256 else hashlib.sha1(b"blob %d\0" % file.size)
        self.received = 0
        self.requests = 0
        self.resumes = 0
        self._pending = memoryview(b"")
        self._response: httpx2.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._done = False

    # -- io.RawIOBase --------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        while not self._pending:
            if self._done:
                return 0
            self._pending = memoryview(self._next_chunk())
        n = min(len(out), len(self._pending))
        out[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._close_response()
        super().close()

    # -- internals -----------------------------------------------------------------------------
    def _next_chunk(self) -> bytes:
        """The next piece of the body, hashed; reconnects with Range when the connection drops."""
        while True:
            if self._cancel is not None and self._cancel():
                raise Cancelled(f"{self.file.path}: download cancelled")
            try:
                if self._chunks is None:
                    self._open()
                assert self._chunks is not None
                chunk = next(self._chunks)
            except StopIteration:
                self._close_response()
                self._finish()
                return b""
            except httpx2.TransportError as exc:
                self._close_response()
                if self.resumes >= MAX_RESUMES:
                    raise TransientHubError(f"{self.file.path}: download failed after {self.resumes} resumes: {exc}") from exc
                self.resumes += 1
                logger.info("resuming %s at byte %d after: %s", self.file.path, self.received, exc)
                continue
            if not chunk:
                continue
            if self.received + len(chunk) > self.file.size:
                raise IntegrityError(f"{self.file.path}: server sent more than the {self.file.size} bytes listed")
            self._hash.update(chunk)
            self.received += len(chunk)
            if self._on_bytes is not None:
                self._on_bytes(len(chunk))
            return chunk

    def _open(self) -> None:
        """GET the file, or its rest with Range. A resume goes straight to where the first GET was
        redirected (the CDN's signed URL), so it costs no second Hub resolver request; if that URL
        is refused (expired), the resolve URL is asked again."""
        response = None
        if self._resume_url is not None:
            response = self._send(self._resume_url)
            if response.status_code in _REFUSED:
                _discard(response)
                response = None
        if response is None:
            response = self._send(self._url)
            if self._refused_by_cdn(response):  # the signed URL expired on the way: a new resolve signs a new one
                logger.info("%s: the CDN refused %s (%d); resolving again", self.file.path, response.url.host,
                            response.status_code)
                response = self._send(self._url)
                if self._refused_by_cdn(response):
                    raise TransientHubError(f"{self.file.path}: the CDN refused two fresh signed URLs "
                                            f"(status {response.status_code})")
        if response.status_code >= 400:
            _discard(response)
            try:
                hf_raise_for_status(response)
            except HfHubHTTPError as exc:
                raise (self._map_error(exc) if self._map_error is not None else exc) from exc
        if self.received and response.status_code != 206:
            response.close()
            raise HubError(f"{self.file.path}: server ignored the Range request (status {response.status_code})")
        self._resume_url = str(response.url)
        self._response = response
        # As the network delivers them: a chunk size would buffer bytes that a dropped connection
        # then loses, and the resume would start before them.
        self._chunks = response.iter_raw()

    def _refused_by_cdn(self, response: httpx2.Response) -> bool:
        """Whether the Hub's redirect led to a CDN that refused its signed URL (then discarded)."""
        if response.status_code not in _REFUSED or response.url.netloc == httpx2.URL(self._url).netloc:
            return False
        _discard(response)
        return True

    def _send(self, url: str) -> httpx2.Response:
        headers = dict(self._headers, **{"Accept-Encoding": "identity"})
        if url is not self._url and httpx2.URL(url).netloc != httpx2.URL(self._url).netloc:
            # another host (the CDN): the Hub token stays with the Hub, as when following a redirect
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if self.received:
            headers["Range"] = f"bytes={self.received}-"
        self.requests += 1
        request = self._session.build_request("GET", url, headers=headers)
        return self._session.send(request, stream=True, follow_redirects=True)

    def _close_response(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response = None
        self._chunks = None

    def _finish(self) -> None:
        self._done = True
        if self.received != self.file.size:
            raise IntegrityError(f"{self.file.path}: got {self.received} bytes, the Hub lists {self.file.size}")
        digest = self._hash.hexdigest()
        expected = self.file.lfs_sha256 or self.file.oid
        if digest != expected:
            kind = "sha256" if self.file.lfs_sha256 else "git blob sha1"
            raise IntegrityError(f"{self.file.path}: {kind} {digest} does not match the Hub's {expected}")


def _discard(response: httpx2.Response) -> None:
    """Read and close an answer that is not used, so its connection goes back to the pool."""
    response.read()
    response.close()
