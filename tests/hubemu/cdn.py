"""The CDN that serves LFS files, on its own port like ``cdn-lfs.hf.co``.

The Hub redirects a ``/resolve/`` of an LFS file here with a signed, expiring URL::

    {cdn}/repos/{aa}/{bb}/{repo hash}/{sha256}
        ?response-content-disposition=...&Expires=...&Signature=...&Key-Pair-Id=...

The CDN serves GET and HEAD with Range support, keyed by the content's sha256 (like S3, it keeps
blobs after the repo changes). A missing or wrong signature, or an expired URL, is a 403; it has no
``RateLimit`` headers: the Hub's quotas do not cover it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from .repo import Repo, RepoFile
from .wire import Request, Response, content_disposition, content_response, error_response

if TYPE_CHECKING:
    from .emulator import HubEmulator

URL_TTL_S = 3600
KEY_PAIR_ID = "KEMULATOR0000"


def expired() -> Response:
    """The CDN's answer to a signed URL past its ``Expires``."""
    return error_response(403, "AccessDenied", "Request has expired")


class CdnApp:
    def __init__(self, emu: HubEmulator) -> None:
        self.emu = emu
        self._secret = hashlib.sha256(f"hubemu-{id(self)}".encode()).digest()

    def _signature(self, path: str, expires: str, disposition: str) -> str:
        message = f"{path}\n{expires}\n{disposition}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base: str, repo: Repo, repo_file: RepoFile) -> str:
        repo_hash = hashlib.sha256(f"{repo.type}s/{repo.id}".encode()).hexdigest()
        path = f"/repos/{repo_hash[:2]}/{repo_hash[2:4]}/{repo_hash}/{repo_file.sha256}"
        name = repo_file.path.rsplit("/", 1)[-1]
        disposition = content_disposition(name)
        expires = str(int(time.time()) + URL_TTL_S)
        query = urlencode(
            {
                "response-content-disposition": disposition,
                "Expires": expires,
                "Signature": self._signature(path, expires, disposition),
                "Key-Pair-Id": KEY_PAIR_ID,
            },
            quote_via=quote,
        )
        return f"{base}{path}?{query}"

    def __call__(self, request: Request) -> Response:
        kind = {"GET": "cdn_get", "HEAD": "cdn_head"}.get(request.method, "other")
        response = self._serve(request, kind)
        response.kind = kind
        response.headers.setdefault("Via", "1.1 hubemu.cloudfront.net (CloudFront)")
        return response

    def _serve(self, request: Request, kind: str) -> Response:
        if kind == "other":
            return error_response(405, "MethodNotAllowed", f"{request.method} is not allowed")
        parts = request.path.split("/")
        if len(parts) != 6 or parts[1] != "repos":
            return error_response(404, "NoSuchKey", "The specified key does not exist.")
        q = {k: v[-1] for k, v in request.query.items()}
        expires, signature = q.get("Expires", ""), q.get("Signature", "")
        disposition = q.get("response-content-disposition", "")
        expected = self._signature(request.path, expires, disposition)
        if not signature or not hmac.compare_digest(signature, expected):
            return error_response(403, "AccessDenied", "Invalid or missing signature")
        if not expires.isdigit() or int(expires) < time.time():
            return expired()
        sha256 = parts[5]
        data = self.emu.lfs_blob(sha256)
        if data is None:
            return error_response(404, "NoSuchKey", "The specified key does not exist.")
        headers = {
            "Content-Type": "binary/octet-stream",
            "ETag": f'"{hashlib.md5(sha256.encode(), usedforsecurity=False).hexdigest()}"',
            "Cache-Control": "public, max-age=604800, immutable, s-maxage=604800",
            "X-Cache": "Miss from cloudfront",
        }
        if disposition:
            headers["Content-Disposition"] = disposition
        response = content_response(request, data, headers, kind)
        if request.method == "GET" and response.status in (200, 206):
            response.drop_after = self.emu.take_drop(sha256)
        return response
