"""Immutable records of what the Hub says about a repo and its files, built explicitly from the API.

``RepoRecord.from_api`` reads the client's ``ModelInfo``/``DatasetInfo``/``SpaceInfo`` field by field
(no ``**kwargs`` soup), so a renamed upstream field fails loudly in one place.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

REPO_TYPES = ("model", "dataset", "space")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def _card(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        return dict(value.to_dict())
    return dict(value) if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class RepoRecord:
    """One repo as listed: identity, revision and the fields the mirror filters and records."""

    type: str
    id: str
    sha: str | None
    private: bool = False
    gated: str | bool = False
    disabled: bool = False
    author: str | None = None
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    library_name: str | None = None
    trending_score: float | None = None
    likes: int = 0
    downloads: int = 0
    created_at: str | None = None
    last_modified: str | None = None
    used_storage: int | None = None
    card_data: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_api(cls, repo_type: str, info: Any) -> RepoRecord:
        """From a huggingface_hub ``ModelInfo``, ``DatasetInfo`` or ``SpaceInfo``."""
        extra: dict[str, Any] = {}
        for name in ("base_models", "children_model_count", "sdk", "models", "datasets", "main_size"):
            value = getattr(info, name, None)
            if value is not None:
                extra[name] = value if isinstance(value, (int, str, float)) else _jsonable(value)
        return cls(
            type=repo_type,
            id=info.id,
            sha=info.sha,
            private=bool(info.private),
            gated=info.gated if info.gated else False,
            disabled=bool(getattr(info, "disabled", False)),
            author=info.author or (info.id.split("/")[0] if "/" in info.id else None),
            tags=tuple(info.tags or ()),
            pipeline_tag=getattr(info, "pipeline_tag", None),
            library_name=getattr(info, "library_name", None),
            trending_score=info.trending_score,
            likes=info.likes or 0,
            downloads=getattr(info, "downloads", None) or 0,
            created_at=_iso(info.created_at),
            last_modified=_iso(info.last_modified),
            used_storage=getattr(info, "used_storage", None),
            card_data=_card(info.card_data),
            extra=extra,
        )

    @property
    def dir_name(self) -> str:
        """``owner__name``: the folder under ``<output_dir>/<type>s/``."""
        return self.id.replace("/", "__")

    def metadata(self) -> dict[str, Any]:
        """Normalized metadata.json content."""
        return {
            "type": self.type,
            "id": self.id,
            "sha": self.sha,
            "author": self.author,
            "private": self.private,
            "gated": self.gated,
            "disabled": self.disabled,
            "pipeline_tag": self.pipeline_tag,
            "library_name": self.library_name,
            "tags": list(self.tags),
            "likes": self.likes,
            "downloads": self.downloads,
            "trending_score": self.trending_score,
            "created_at": self.created_at,
            "last_modified": self.last_modified,
            "used_storage": self.used_storage,
            "card_data": self.card_data,
            **self.extra,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value if isinstance(value, (int, str, float, bool, type(None))) else str(value)


@dataclass(frozen=True, slots=True)
class RepoFile:
    """A file in a repo's tree: ``oid`` is the git blob sha1; LFS files also carry their sha256."""

    path: str
    size: int
    oid: str
    lfs_sha256: str | None = None

    @classmethod
    def from_api(cls, item: Any) -> RepoFile:
        lfs = getattr(item, "lfs", None)
        return cls(path=item.path, size=int(item.size), oid=item.blob_id, lfs_sha256=lfs.sha256 if lfs else None)

    @property
    def content_id(self) -> str:
        """What identifies the bytes: the LFS sha256 when there is one, else the git blob oid."""
        return self.lfs_sha256 or self.oid
