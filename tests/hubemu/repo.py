"""What the emulated Hub hosts: ``RepoFile`` and ``Repo``, and the git/LFS facts derived from them.

* A regular file's git blob id is ``sha1(b"blob <len>\\0" + data)``: the Hub's ``ETag`` for it.
* An LFS file is stored in git as a pointer file; its blob id (the tree ``oid``, the siblings'
  ``blobId``) is the pointer's, and ``lfs.oid``/``lfs.sha256`` is the sha256 of the real bytes.
* Which paths are LFS follows the Hub's default ``.gitattributes`` (``DEFAULT_GITATTRIBUTES``),
  and any file over 10 MB is LFS regardless (the Hub refuses larger regular files).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import yaml
from huggingface_hub.repocard import REGEX_YAML_BLOCK

RepoType = Literal["model", "dataset", "space"]
Gated = Literal[False, "auto", "manual"]
REPO_TYPES: tuple[str, ...] = ("model", "dataset", "space")
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
# libyaml's loader when present: it parses every shared card exactly as SafeLoader does, 4x faster
# (some real dataset cards carry a megabyte of YAML).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The .gitattributes the Hub writes into every new repo (abridged to its patterns).
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
        "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
        "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
        "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
        "*.zst", "*tfevents*",
    )
)


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob holding ``data``."""
    digest = hashlib.sha1(b"blob %d\0" % len(data))
    digest.update(data)  # not header + data: a copy of a 50 MB file would count against the mirror in tests
    return digest.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file that git stores in place of an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def lfs_patterns(gitattributes: str) -> list[str]:
    patterns = []
    for line in gitattributes.splitlines():
        parts = line.split()
        if len(parts) >= 2 and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def is_lfs_path(path: str, size: int, gitattributes: str = DEFAULT_GITATTRIBUTES) -> bool:
    """Whether the Hub would store ``path`` with LFS (gitattributes patterns, or over 10 MB)."""
    if size > LFS_SIZE_THRESHOLD:
        return True
    basename = path.rsplit("/", 1)[-1]
    for pattern in lfs_patterns(gitattributes):
        if "/" in pattern:
            if fnmatch.fnmatchcase(path, pattern.replace("**/", "*")):
                return True
        elif fnmatch.fnmatchcase(basename, pattern):
            return True
    return False


# Deeper than this, the emulator's own JSON encoder (recursive in C) would overflow the stack; the
# Hub's parser refuses such front matter too. libyaml (CSafeLoader) composes it without recursing, so
# depth is checked here rather than left to a RecursionError that only the pure-Python loader raises.
_MAX_YAML_DEPTH = 500


def _refused(data: Any, budget: int) -> bool:
    """Whether the Hub would refuse parsed front matter: past ``budget`` values once aliases are
    expanded (an alias bomb, "excessive alias count"), or nested past ``_MAX_YAML_DEPTH``."""
    stack, seen = [(data, 1)], 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > budget or depth > _MAX_YAML_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def card_data_from_readme(readme: bytes) -> dict[str, Any] | None:
    """The README's YAML front matter as the Hub's ``cardData`` (None when absent or not valid YAML)."""
    text = readme.decode("utf-8", "replace").lstrip("\ufeff")
    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        return None
    block = match.group(2)
    try:
        data = yaml.load(block, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, RecursionError):  # RecursionError: the pure-Python composer nests by recursion
        return None
    if not isinstance(data, dict) or _refused(data, 100 * len(block)):
        return None
    # YAML dates and other non-JSON scalars: the Hub serves them as strings.
    return json.loads(json.dumps(data, default=str))


def safetensors_parameters(data: bytes) -> dict[str, int] | None:
    """Parameter count per dtype from a safetensors header (None if ``data`` is not safetensors)."""
    if len(data) < 8:
        return None
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8 or header_len > 100_000_000:
        return None
    try:
        header = json.loads(data[8 : 8 + header_len])
    except ValueError:
        return None
    counts: dict[str, int] = {}
    for name, tensor in header.items():
        if name == "__metadata__" or not isinstance(tensor, dict):
            continue
        n = 1
        for dim in tensor.get("shape", []):
            n *= int(dim)
        counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + n
    return counts or None


@dataclass(frozen=True)
class RepoFile:
    """One file of a repo. ``data`` is kept in memory (large files are shared, never copied)."""

    path: str
    data: bytes = field(repr=False)
    lfs: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def pointer(self) -> bytes:
        return lfs_pointer(self.sha256, self.size)

    @cached_property
    def blob_id(self) -> str:
        """The git blob id: of the content for a regular file, of the pointer for an LFS file."""
        return git_blob_sha1(self.pointer if self.lfs else self.data)

    @cached_property
    def content_blob_id(self) -> str:
        """The git blob id of the real content (what a regular file's ``ETag`` carries)."""
        return git_blob_sha1(self.data)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def commit_sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode("utf-8")).hexdigest()


_EPOCH = dt.datetime(2022, 3, 2, 23, 29, 5, tzinfo=dt.timezone.utc)


@dataclass
class Repo:
    """A repo as the emulator hosts it at its ``main`` branch (the emulator keeps its own copy)."""

    type: RepoType
    id: str
    files: list[RepoFile]
    sha: str = ""
    trending_score: int = 0
    likes: int = 0
    downloads: int = 0
    gated: Gated = False
    private: bool = False
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    library_name: str | None = None
    card_data: dict[str, Any] | None = None
    created_at: dt.datetime = _EPOCH
    last_modified: dt.datetime = _EPOCH
    author: str = ""
    disabled: bool = False
    sdk: str | None = None  # spaces only
    stage: str = "RUNNING"  # spaces only: the runtime stage (RUNNING, SLEEPING, BUILDING, RUNTIME_ERROR...)

    def __post_init__(self) -> None:
        if self.type not in REPO_TYPES:
            raise ValueError(f"unknown repo type {self.type!r}")
        if self.gated is True:  # type: ignore[comparison-overlap]
            self.gated = "auto"
        if not self.author:
            self.author = self.id.split("/")[0] if "/" in self.id else ""
        paths = [f.path for f in self.files]
        if len(set(paths)) != len(paths):
            raise ValueError(f"{self.id}: duplicate paths")
        if not self.sha:
            self.sha = commit_sha(self.type, self.id, *sorted(f"{f.path}:{f.blob_id}" for f in self.files))
        if self.card_data is None:
            readme = self.file("README.md")
            if readme is not None:
                self.card_data = card_data_from_readme(readme.data)

    def file(self, path: str) -> RepoFile | None:
        for f in self.files:
            if f.path == path:
                return f
        return None

    @property
    def object_id(self) -> str:
        """A stable 24-hex ``_id`` (MongoDB ObjectId-like), as the Hub gives every repo."""
        return hashlib.sha1(f"{self.type}/{self.created_at.isoformat()}/{self.id}".encode()).hexdigest()[:24]

