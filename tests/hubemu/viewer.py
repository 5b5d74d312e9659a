"""The dataset viewer API (``datasets-server.huggingface.co``) on its own port, for the hosted datasets.

``GET /is-valid?dataset=[&config=[&split=]]``, ``GET /splits?dataset=[&config=]`` and
``GET /first-rows?dataset=&config=&split=``, with the bodies, statuses and ``X-Error-Code`` headers of
``shared/data/dataset_viewer/openapi.json`` and its examples. Checks in the real server's order:

1. parameters: a missing or blank one is 422 ``MissingRequiredParameter``;
2. access, as the Hub's auth-check answers it for ``Authorization: Bearer <token>``: a dataset that
   does not exist (or is private or disabled) and the token cannot read it is 401
   ``ExternalUnauthenticatedError`` without a (known) token, 404 ``ExternalAuthenticatedError`` with
   one; a gated dataset without access is that 404 too (the spec's "gated dataset, and not
   authenticated or authorized"); a private dataset *with* access is the spec's 401 "Not found."
   (private datasets are not supported);
3. the dataset's mode (``HubEmulator.set_viewer``): ``ok``; ``slow`` (``ok`` after
   ``viewer_delay`` seconds); ``error`` (500 ``UnexpectedError`` "Unexpected error."); ``crash``
   (500 text/plain "Internal Server Error.", no X-Error-Code); ``none``, the viewer cannot process
   the dataset: is-valid all false, /splits 500 ``EmptyDatasetError`` and /first-rows 500
   ``StreamingRowsError``, the spec's "error in the dataset itself" examples. A dataset with no
   data file (``viewer_data.layout``) behaves as ``none``;
4. an unknown config or split: 404 ``ResponseNotFound`` "Not found.".

200 answers carry ``X-Revision`` (the head commit), every answer ``Access-Control-Allow-Origin: *``
and ``Cache-Control``. No RateLimit headers: the Hub's quotas do not cover this service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import viewer_data
from .state import Hosted
from .wire import Request, Response

if TYPE_CHECKING:
    from .emulator import HubEmulator

MODES = ("ok", "none", "error", "crash", "slow")
NOT_ACCESSIBLE = (
    "The dataset does not exist, or is not accessible without authentication (private or gated). "
    "Please check the spelling of the dataset name or retry with authentication."
)
NOT_FOUND = "Not found."
CAPABILITIES = ("preview", "viewer", "search", "filter", "statistics")
WORKER = "/src/services/worker/src/worker"


@dataclass(frozen=True)
class Endpoint:
    kind: str
    required: tuple[str, ...]
    missing: str  # the 422 message


ENDPOINTS = {
    "/is-valid": Endpoint("viewer_is_valid", ("dataset",), "Parameter 'dataset' is required"),
    "/splits": Endpoint("viewer_splits", ("dataset",), "Parameter 'dataset' is required"),
    "/first-rows": Endpoint(
        "viewer_first_rows", ("dataset", "config", "split"), "Parameters 'dataset', 'config' and 'split' are required"
    ),
}


def _json(status: int, payload: Any, code: str | None = None) -> Response:
    headers = {"Content-Type": "application/json", "Cache-Control": "max-age=120" if status == 200 else "no-cache"}
    if code is not None:
        headers["X-Error-Code"] = code
    return Response(status, headers, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _text(status: int, text: str) -> Response:
    return Response(status, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"}, text.encode())


def _failure(error: str, exception: str, message: str, frames: list[str]) -> dict[str, Any]:
    """A cached job error with its cause, as the worker stores it (the spec's 500 examples)."""
    trace = ["Traceback (most recent call last):\n", *frames, f"{exception}: {message}\n"]
    cause = exception.rsplit(".", 1)[-1]
    return {"error": error, "cause_exception": cause, "cause_message": message, "cause_traceback": trace}


class ViewerApp:
    def __init__(self, emu: HubEmulator) -> None:
        self.emu = emu
        self.state = emu.state

    def __call__(self, request: Request) -> Response:
        endpoint = ENDPOINTS.get(request.path)
        if endpoint is None:
            response = _text(404, "Not Found")
        elif request.method not in ("GET", "HEAD"):
            response = _text(405, "Method Not Allowed")
        else:
            response = self._serve(endpoint, request)
        response.kind = endpoint.kind if endpoint is not None else "other"
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        return response

    def _serve(self, endpoint: Endpoint, request: Request) -> Response:
        params = {k: (v[-1] if v else "") for k, v in request.query.items()}
        if any(not params.get(name, "").strip() for name in endpoint.required):
            return _json(422, {"error": endpoint.missing}, "MissingRequiredParameter")
        dataset = params["dataset"]
        mode = self.emu.viewer_mode(dataset)
        if mode == "slow":
            self.emu.viewer_wait()
        found = self._authorize(dataset, request.token)
        if isinstance(found, Response):
            return found
        if mode == "error":
            return _json(500, {"error": "Unexpected error."}, "UnexpectedError")
        if mode == "crash":
            return _text(500, "Internal Server Error.")
        repo = found.repo
        configs = viewer_data.layout(f.path for f in repo.files)
        config, split = params.get("config") or None, params.get("split") or None
        if mode == "none" or not configs:
            return self._unprocessable(endpoint, found)
        if config is not None and (config not in configs or (split is not None and split not in configs[config])):
            if config not in configs or endpoint.kind != "viewer_splits":  # /splits takes no split
                return _json(404, {"error": NOT_FOUND}, "ResponseNotFound")
        if endpoint.kind == "viewer_is_valid":
            body: dict[str, Any] = dict.fromkeys(CAPABILITIES, True)
        elif endpoint.kind == "viewer_splits":
            wanted = [c for c in configs if config in (None, c)]
            items = [{"dataset": dataset, "config": c, "split": s} for c in wanted for s in configs[c]]
            body = {"splits": items} if config is not None else {"splits": items, "pending": [], "failed": []}
        else:
            names = viewer_data.label_names(repo.card_data)
            body = viewer_data.first_rows(dataset, config or "", split or "", names)
        response = _json(200, body)
        response.headers["X-Revision"] = repo.sha
        return response

    def _authorize(self, dataset: str, token: str | None) -> Hosted | Response:
        """The dataset, or the answer the viewer gives after the Hub's auth-check refused it."""
        known = token is not None and self.state.token_known(token)
        hosted = self.state.get("dataset", dataset)
        repo = hosted.repo if hosted is not None else None
        allowed = repo is not None and self.state.can_access(token, repo)
        if repo is None or repo.disabled or (repo.private and not allowed):
            if known:
                return _json(404, {"error": NOT_ACCESSIBLE}, "ExternalAuthenticatedError")
            return _json(401, {"error": NOT_ACCESSIBLE}, "ExternalUnauthenticatedError")
        if repo.private:
            return _json(401, {"error": NOT_FOUND}, "ExternalUnauthenticatedError")
        if repo.gated and not allowed:
            return _json(404, {"error": NOT_ACCESSIBLE}, "ExternalAuthenticatedError")
        assert hosted is not None
        return hosted

    @staticmethod
    def _unprocessable(endpoint: Endpoint, hosted: Hosted) -> Response:
        repo = hosted.repo
        if endpoint.kind == "viewer_is_valid":
            response = _json(200, dict.fromkeys(CAPABILITIES, False))
            response.headers["X-Revision"] = repo.sha
            return response
        where = f"hf://datasets/{repo.id}@{repo.sha}"
        if endpoint.kind == "viewer_splits":
            frames = [
                f'  File "{WORKER}/job_runners/dataset/config_names.py", line 56, in compute_config_names_response\n'
                "    for config in sorted(get_dataset_config_names(path=dataset, token=hf_token))\n",
            ]
            message = f"The directory at {where} doesn't contain any data files"
            body = _failure("The dataset is empty.", "datasets.data_files.EmptyDatasetError", message, frames)
            return _json(500, body, "EmptyDatasetError")
        frames = [
            f'  File "{WORKER}/utils.py", line 363, in get_rows_or_raise\n    return get_rows(\n',
            f'  File "{WORKER}/utils.py", line 341, in get_rows\n'
            "    rows_plus_one = list(itertools.islice(ds, rows_max_number + 1))\n",
        ]
        error = "Cannot load the dataset split (in streaming mode) to extract the first rows."
        return _json(500, _failure(error, "FileNotFoundError", where, frames), "StreamingRowsError")
