"""The archive's web page: ``GET /`` (``static/index.html``) and ``GET /static/{name}`` (its script
and style sheet), served from the package folder.

The page has no build step and loads nothing from the network: ``index.html`` loads
``static/app.js`` (a JavaScript module) and ``static/style.css``, and the script reads the JSON API
(``web/api.py``). Only files directly in ``static/`` with a known suffix are served, each with an
explicit content type; anything else is a 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

router = APIRouter(tags=["web page"])


def _file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    media_type = CONTENT_TYPES.get(path.suffix)
    if media_type is None or "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(status_code=404, detail=f"no such file: {name}")
    return FileResponse(path, media_type=media_type, headers=_HEADERS)


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return _file("index.html")


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    return _file(name)
