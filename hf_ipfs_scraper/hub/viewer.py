"""The dataset viewer API (``datasets-server``): whether a dataset has a viewer, its splits and first
rows — the preview a dataset's archive keeps in ``preview_info.json``.

A preview is a nicety: no viewer, an error answer or a timeout is recorded in the preview (what was
asked, the status, the server's ``X-Error-Code`` and message) and never fails the dataset's mirror.
The token goes only with a gated dataset's requests (the viewer needs it there and nowhere else).
The viewer is another host than the Hub, so the Hub's rate-limit buckets do not count it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx2
from huggingface_hub import get_session

MAX_SPLITS = 3  # first-rows of at most this many splits of the first config


@dataclass
class Preview:
    """What the viewer said about one dataset. ``status``: ``ok`` (splits known), ``no_viewer``
    (the viewer cannot show it), ``error`` (a request failed: see ``errors``)."""

    dataset: str
    endpoint: str
    status: str = "ok"
    is_valid: dict[str, Any] | None = None
    splits: list[dict[str, Any]] = field(default_factory=list)
    first_rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    fetched_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Failed(Exception):
    def __init__(self, details: dict[str, Any]) -> None:
        super().__init__(details.get("message"))
        self.details = details


class ViewerClient:
    def __init__(self, endpoint: str, token: str | None, *, timeout: float) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout

    def preview(self, dataset: str, *, gated: bool = False) -> Preview:
        preview = Preview(dataset, self.endpoint, fetched_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        headers = {"Authorization": f"Bearer {self.token}"} if gated and self.token else {}
        try:
            preview.is_valid = self._get("/is-valid", {"dataset": dataset}, headers)
            if not (preview.is_valid.get("preview") or preview.is_valid.get("viewer")):
                preview.status = "no_viewer"
                return preview
            splits = self._get("/splits", {"dataset": dataset}, headers).get("splits") or []
            preview.splits = [s for s in splits if isinstance(s, dict)]
        except _Failed as exc:
            preview.status = "error"
            preview.errors.append(exc.details)
            return preview
        first_config = preview.splits[0].get("config") if preview.splits else None
        for split in [s for s in preview.splits if s.get("config") == first_config][:MAX_SPLITS]:
            params = {"dataset": dataset, "config": str(split.get("config")), "split": str(split.get("split"))}
            try:
                preview.first_rows.append(self._get("/first-rows", params, headers))
            except _Failed as exc:
                preview.errors.append(exc.details)
        return preview

    def _get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        where = {"request": path, "params": params}
        try:
            response = get_session().get(self.endpoint + path, params=params, headers=headers, timeout=self.timeout)
        except httpx2.TimeoutException as exc:
            raise _Failed({**where, "status": None, "message": f"timed out after {self.timeout:g}s ({exc})"}) from exc
        except httpx2.TransportError as exc:
            raise _Failed({**where, "status": None, "message": f"cannot reach the viewer: {exc}"}) from exc
        if response.status_code != 200:
            raise _Failed({**where, "status": response.status_code, "error_code": response.headers.get("X-Error-Code"),
                           "message": _message(response)})
        try:
            body = response.json()
        except ValueError as exc:
            raise _Failed({**where, "status": 200, "message": f"not JSON: {exc}"}) from exc
        if not isinstance(body, dict):
            raise _Failed({**where, "status": 200, "message": "not a JSON object"})
        return body


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return str(body.get("error") if isinstance(body, dict) and "error" in body else body)[:500]
