"""The emulator's store: hosted repos with their commit history, renames and access tokens.

Every mutation takes one lock and replaces objects instead of changing them in place (``Repo``
via ``dataclasses.replace``, a new ``Commit`` per change), so a request handler can take a
reference under the lock and read it afterwards without holding anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .repo import REPO_TYPES, Gated, Repo, RepoFile, commit_sha

if TYPE_CHECKING:
    from .generated import GeneratedHub

#: A token with access to every gated and private repo.
ACCESS_TOKEN = "hf_emulator_full_access"
#: A valid token that has access to nothing gated or private (gated repos answer 403 to it).
NO_ACCESS_TOKEN = "hf_emulator_no_access"
ALL = "*"


@dataclass(frozen=True)
class Commit:
    sha: str
    files: Mapping[str, RepoFile]
    date: dt.datetime
    title: str
    parent: str | None


@dataclass(frozen=True)
class TreeEntry:
    type: str  # "file" | "directory"
    path: str
    oid: str
    file: RepoFile | None = None


class Tree:
    """The git tree of one commit: directory oids computed as git does, entries in git order."""

    def __init__(self, files: Mapping[str, RepoFile]) -> None:
        root: dict = {}
        for path, f in files.items():
            node = root
            parts = path.split("/")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = f
        self._root = root
        self.entries: dict[str, TreeEntry] = {}
        self.children: dict[str, list[str]] = {}
        self.root_oid = self._walk(root, "")

    def _walk(self, node: dict, prefix: str) -> str:
        # git sorts tree entries by name, a directory's name compared as if it ended with "/"
        names = sorted(node, key=lambda n: n + "/" if isinstance(node[n], dict) else n)
        body = b""
        kids = []
        for name in names:
            child = node[name]
            path = prefix + name
            kids.append(path)
            if isinstance(child, dict):
                oid = self._walk(child, path + "/")
                self.entries[path] = TreeEntry("directory", path, oid)
                body += b"40000 " + name.encode() + b"\0" + bytes.fromhex(oid)
            else:
                self.entries[path] = TreeEntry("file", path, child.blob_id, child)
                body += b"100644 " + name.encode() + b"\0" + bytes.fromhex(child.blob_id)
        self.children[prefix.rstrip("/")] = kids
        return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()

    def is_dir(self, path: str) -> bool:
        return path in self.children

    def listing(self, path: str, recursive: bool) -> list[TreeEntry]:
        out: list[TreeEntry] = []
        for child in self.children.get(path, []):
            entry = self.entries[child]
            out.append(entry)
            if recursive and entry.type == "directory":
                out.extend(self.listing(child, True))
        return out


@dataclass
class Hosted:
    """One repo on the emulated Hub: current metadata, its commits (oldest first) and caches."""

    repo: Repo
    object_id: str
    history: list[Commit]
    _trees: dict[str, Tree] = field(default_factory=dict)

    @property
    def head(self) -> Commit:
        return self.history[-1]

    def commit(self, rev: str) -> Commit | None:
        if rev in ("main", "refs/heads/main"):
            return self.head
        for c in self.history:
            if c.sha == rev:
                return c
        return None

    def tree(self, commit: Commit) -> Tree:
        tree = self._trees.get(commit.sha)
        if tree is None:
            tree = self._trees[commit.sha] = Tree(commit.files)
        return tree

    def last_commit(self, commit: Commit, path: str) -> Commit:
        """The newest commit, up to ``commit``, that changed ``path`` (file or directory)."""
        by_sha = {c.sha: c for c in self.history}
        current = commit

        def oid(c: Commit) -> str | None:
            e = self.tree(c).entries.get(path)
            return e.oid if e else None

        while current.parent is not None and oid(by_sha[current.parent]) == oid(current):
            current = by_sha[current.parent]
        return current


class HubState:
    """The hosted repos: the ones added, or (``generated``) a ``GeneratedHub``'s, made on demand."""

    def __init__(
        self, tokens: Mapping[str, Iterable[str] | str] | None = None, generated: GeneratedHub | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.generated = generated
        self._repos: dict[tuple[str, str], Hosted] = {}
        self._redirects: dict[tuple[str, str], str] = {}
        if tokens is None:
            tokens = {ACCESS_TOKEN: ALL, NO_ACCESS_TOKEN: ()}
        self._tokens: dict[str, set[str] | str] = {
            t: (ALL if v == ALL else set([v] if isinstance(v, str) else v)) for t, v in tokens.items()
        }

    # -- reading -----------------------------------------------------------------------------
    def get(self, repo_type: str, repo_id: str) -> Hosted | None:
        with self.lock:
            hosted = self._repos.get((repo_type, repo_id))
        if hosted is None and self.generated is not None:
            return self.generated.hosted(repo_type, repo_id)
        return hosted

    def redirect(self, repo_type: str, repo_id: str) -> str | None:
        """The id a renamed repo now has (following chains), or None."""
        if self.generated is not None:
            return self.generated.redirect(repo_type, repo_id)
        with self.lock:
            seen = set()
            target = None
            key = (repo_type, repo_id)
            while key in self._redirects and key not in seen:
                seen.add(key)
                target = self._redirects[key]
                key = (repo_type, target)
            return target if target is not None and key in self._repos else None

    def all(self, repo_type: str) -> list[Hosted]:
        with self.lock:
            return [h for (t, _), h in self._repos.items() if t == repo_type]

    def token_known(self, token: str) -> bool:
        with self.lock:
            return token in self._tokens

    def can_access(self, token: str | None, repo: Repo) -> bool:
        return self.can_access_id(token, repo.id)

    def can_access_id(self, token: str | None, repo_id: str) -> bool:
        if token is None:
            return False
        with self.lock:
            grant = self._tokens.get(token)
            return grant == ALL or (isinstance(grant, set) and repo_id in grant)

    # -- mutating ----------------------------------------------------------------------------
    def add(self, repo: Repo) -> None:
        repo = dataclasses.replace(repo, files=list(repo.files))
        first = Commit(repo.sha, {f.path: f for f in repo.files}, repo.last_modified, "Upload folder", None)
        with self.lock:
            key = (repo.type, repo.id)
            if key in self._repos:
                raise ValueError(f"{repo.type} {repo.id} already exists")
            self._redirects.pop(key, None)
            self._repos[key] = Hosted(repo, repo.object_id, [first])

    def find(self, repo_id: str, repo_type: str | None) -> Hosted:
        matches = [h for (t, i), h in self._repos.items() if i == repo_id and repo_type in (None, t)]
        if not matches and self.generated is not None:
            found = (self.generated.hosted(t, repo_id) for t in ((repo_type,) if repo_type else REPO_TYPES))
            matches = [h for h in found if h is not None]
        if len(matches) != 1:
            raise KeyError(f"{repo_type or 'repo'} {repo_id!r}: {len(matches)} matches")
        return matches[0]

    def update(self, repo_id: str, repo_type: str | None = None, **changes: object) -> Repo:
        with self.lock:
            hosted = self.find(repo_id, repo_type)
            hosted.repo = dataclasses.replace(hosted.repo, **changes)  # type: ignore[arg-type]
            return hosted.repo

    def commit_files(
        self,
        repo_id: str,
        changes: Mapping[str, RepoFile | None],
        *,
        repo_type: str | None = None,
        title: str = "Update files",
        when: dt.datetime | None = None,
    ) -> str:
        """Make a new commit on main that adds, replaces or (None) deletes files; returns its sha."""
        with self.lock:
            hosted = self.find(repo_id, repo_type)
            parent = hosted.head
            files = dict(parent.files)
            for path, f in changes.items():
                if f is None:
                    if path not in files:
                        raise KeyError(f"{repo_id}: no file {path!r}")
                    del files[path]
                else:
                    files[path] = f
            stamp = when or dt.datetime.now(dt.timezone.utc)
            stamp = max(stamp, parent.date + dt.timedelta(seconds=1))
            sha = commit_sha(parent.sha, title, *sorted(f"{p}:{f.blob_id}" for p, f in files.items()))
            hosted.history.append(Commit(sha, files, stamp, title, parent.sha))
            # card data is derived again from a changed README (Repo.__post_init__), else kept
            card_data = None if "README.md" in changes else hosted.repo.card_data
            hosted.repo = dataclasses.replace(
                hosted.repo, files=list(files.values()), sha=sha, last_modified=stamp, card_data=card_data
            )
            return sha

    def remove(self, repo_id: str, repo_type: str | None = None) -> None:
        with self.lock:
            hosted = self.find(repo_id, repo_type)
            del self._repos[(hosted.repo.type, repo_id)]

    def rename(self, old: str, new: str, repo_type: str | None = None) -> None:
        with self.lock:
            hosted = self.find(old, repo_type)
            key_new = (hosted.repo.type, new)
            if key_new in self._repos:
                raise ValueError(f"{new} already exists")
            del self._repos[(hosted.repo.type, old)]
            hosted.repo = dataclasses.replace(hosted.repo, id=new, author=new.split("/")[0] if "/" in new else "")
            self._repos[key_new] = hosted
            self._redirects[(hosted.repo.type, old)] = new
            self._redirects.pop(key_new, None)

    def grant(self, token: str, repo_id: str | None = None) -> None:
        """Make ``token`` valid; with ``repo_id``, give it access to that gated/private repo."""
        with self.lock:
            grant = self._tokens.setdefault(token, set())
            if repo_id is not None and isinstance(grant, set):
                grant.add(repo_id)

    def set_gated(self, repo_id: str, gated: Gated | bool, repo_type: str | None = None) -> None:
        value: Gated = "auto" if gated is True else gated  # type: ignore[assignment]
        if value not in (False, "auto", "manual"):
            raise ValueError(f"gated must be False, True, 'auto' or 'manual', not {gated!r}")
        self.update(repo_id, repo_type, gated=value)
