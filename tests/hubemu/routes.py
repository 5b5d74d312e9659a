"""Which Hub endpoint a request path names, parsed from the raw (percent-encoded) path.

``/api/{type}s``                              list          (GET)
``/api/{type}s/{id}[/revision/{rev}]``        info          (GET)
``/api/{type}s/{id}/tree/{rev}[/{path}]``     tree          (GET)
``/api/{type}s/{id}/paths-info/{rev}``        paths_info    (POST)
``/api/{type}s/{id}/refs``                    refs          (GET)
``/api/{type}s/{id}/commits/{rev}``           commits       (GET)
``/[{type}s/]{id}/resolve/{rev}/{path}``      resolve_head / resolve_get
anything else                                 other

``{id}`` is ``namespace/name`` (or a legacy one-segment name); ``{rev}`` arrives quoted with
``safe=""`` from huggingface_hub (``refs%2Fpr%2F1``), the tree path too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
SUBROUTES = {"revision", "tree", "paths-info", "refs", "commits", "resolve", "discussions", "settings"}
METHODS = {
    "harnesses": ("GET", "HEAD"),
    "list": ("GET", "HEAD"),
    "info": ("GET", "HEAD"),
    "tree": ("GET", "HEAD"),
    "refs": ("GET", "HEAD"),
    "commits": ("GET", "HEAD"),
    "paths_info": ("POST",),
    "resolve_head": ("HEAD",),
    "resolve_get": ("GET",),
}


@dataclass(frozen=True)
class Route:
    kind: str
    repo_type: str | None = None
    repo_id: str | None = None
    rev: str | None = None
    path: str = ""
    prefix: str = ""  # raw path before the repo id (to rebuild it after a rename)
    suffix: str = ""  # raw path after the repo id


def parse_route(method: str, raw_path: str) -> Route:
    segs = raw_path.split("/")[1:]
    if segs and segs[0] == "api":
        return _parse_api(segs)
    repo_type, rest, prefix = "model", segs, "/"
    if segs and segs[0] in ("datasets", "spaces"):
        repo_type, rest, prefix = TYPES[segs[0]], segs[1:], f"/{segs[0]}/"
    for n in (2, 1):
        if len(rest) > n + 2 and rest[n] == "resolve" and all(rest[:n]):
            return Route(
                "resolve_head" if method == "HEAD" else "resolve_get",
                repo_type,
                unquote("/".join(rest[:n])),
                rev=unquote(rest[n + 1]),
                path=unquote("/".join(rest[n + 2 :])),
                prefix=prefix,
                suffix="/" + "/".join(rest[n:]),
            )
    return Route("other")


def _parse_api(segs: list[str]) -> Route:
    if segs[1:] == ["agent-harnesses"]:  # huggingface_hub >= 2 fetches it once a day (agent detection)
        return Route("harnesses")
    if len(segs) == 2 and segs[1] in TYPES:
        return Route("list", TYPES[segs[1]])
    if len(segs) < 3 or segs[1] not in TYPES or not segs[2]:
        return Route("other")
    repo_type = TYPES[segs[1]]
    rest = segs[2:]
    # ``owner/name`` unless the second segment is a subroute of a one-segment id (``gpt2/tree/main``);
    # a repo may itself be called ``tree`` (``owner/tree/tree/main``), as on the Hub
    if len(rest) >= 3 and rest[1] and rest[2] in SUBROUTES:
        n = 2
    else:
        n = 2 if len(rest) >= 2 and rest[1] not in SUBROUTES and rest[1] else 1
    repo_id = unquote("/".join(rest[:n]))
    tail = rest[n:]
    common = {"repo_type": repo_type, "repo_id": repo_id, "prefix": f"/api/{segs[1]}/"}
    suffix = "".join("/" + t for t in tail)
    if not tail:
        return Route("info", **common)
    head, args = tail[0], tail[1:]
    if head == "revision" and args:
        return Route("info", rev=unquote("/".join(args)), suffix=suffix, **common)
    if head == "tree" and args:
        return Route("tree", rev=unquote(args[0]), path=unquote("/".join(args[1:])), suffix=suffix, **common)
    if head == "paths-info" and args:
        return Route("paths_info", rev=unquote("/".join(args)), suffix=suffix, **common)
    if head == "refs" and not args:
        return Route("refs", suffix=suffix, **common)
    if head == "commits" and args:
        return Route("commits", rev=unquote("/".join(args)), suffix=suffix, **common)
    return Route("other")
