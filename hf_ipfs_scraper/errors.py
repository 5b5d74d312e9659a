"""Every error the library raises on purpose, under one root.

Callers (the CLI, a notebook) catch :class:`HfIpfsError` to tell an expected, actionable failure
from a bug. Foreign errors are converted at the boundary with ``raise ... from exc``.

    HfIpfsError
    ├── ConfigError (ValueError)          bad config file, key or value
    ├── InvalidInputError (ValueError)    a bad CID string, a bad path, a bad option
    │   └── InvalidNameError              a directory entry named '..', with '/' or NUL
    ├── CodecError (ValueError)           bytes that do not decode (varint, CID, dag-pb, UnixFS)
    │   └── CarError                      a corrupt, truncated or trailing-garbage CAR
    ├── StoreError                        the embedded block store (and the state database)
    │   ├── NotAStoreError                a directory that is not a store
    │   ├── StoreLockedError              another process writes this store
    │   ├── ReadOnlyStoreError            a write on a store opened read-only
    │   └── BlockNotFoundError (KeyError) an unknown CID
    ├── BackendError                      a Kubo daemon or an IPFS Cluster refused or failed a call
    │   ├── BackendUnavailableError       down, unreachable or not answering in time: retry later
    │   └── ReplicationError              not pinned on enough cluster peers in time (with where it stands)
    ├── HubError                          talking to the Hugging Face Hub
    │   ├── RepoUnavailableError          gated without access, private, missing: skip it, say why
    │   └── TransientHubError             5xx, 429, a dropped or cut-short answer: a retry may cure it
    │       └── IntegrityError            downloaded bytes differ from the Hub's sha256 / git oid
    └── ArchiveWriteError                 the output directory cannot be written (disk full, I/O error)
"""

from __future__ import annotations


class HfIpfsError(Exception):
    """Root of every error this library raises on purpose."""


class ConfigError(HfIpfsError, ValueError):
    """The configuration (file, environment or flags) is invalid."""


class InvalidInputError(HfIpfsError, ValueError):
    """An argument the user gave cannot be used (bad CID text, bad option, bad path)."""


class InvalidNameError(InvalidInputError):
    """A directory entry name UnixFS cannot hold ('', '.', '..', '/' or NUL inside)."""


class CodecError(HfIpfsError, ValueError):
    """Bytes that do not decode as the format they claim to be."""


class CarError(CodecError):
    """A CAR file is corrupt, truncated, or has trailing garbage."""


class StoreError(HfIpfsError):
    """The embedded block store cannot do what was asked."""


class NotAStoreError(StoreError):
    """The directory exists but is not a block store."""


class StoreLockedError(StoreError):
    """Another process holds the write lock of this store."""


class ReadOnlyStoreError(StoreError):
    """A write was attempted on a store opened read-only."""


class BlockNotFoundError(StoreError, KeyError):
    """The store has no block for this CID."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "block not found"


class BackendError(HfIpfsError):
    """A storage backend (Kubo daemon, IPFS Cluster) refused a call or answered something wrong."""


class BackendUnavailableError(BackendError):
    """The daemon or cluster is down, unreachable, or did not answer within its timeout.

    Nothing is recorded as pinned after this: the repo stays pending and the next run resumes."""


class ReplicationError(BackendError):
    """A cluster pin did not reach ``replication-min`` peers in time, or a peer reported pin_error.

    ``str()`` says where it stands per peer; ``status`` holds the last status read."""

    def __init__(self, message: str, status: object = None) -> None:
        super().__init__(message)
        self.status = status


class HubError(HfIpfsError):
    """A Hub request failed in a way the run records against one repo or file."""


class RepoUnavailableError(HubError):
    """The repo cannot be mirrored with the current credentials (gated, private, missing)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # short machine-readable cause: "gated", "not_found", "disabled"


class TransientHubError(HubError):
    """A Hub answer a retry may cure: a 5xx, a 429 after the limiter's own retries, a connection
    dropped or an answer cut short. The run retries the repo with backoff before recording it;
    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one. ``retried``: it
    outlasted huggingface_hub's own retries (its listings retry 5xx, 429 and network errors five
    times, over about 20 s), so the run does not ask again at once; later runs do."""

    def __init__(self, message: str, *, retry_after: float | None = None, retried: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.retried = retried


class IntegrityError(TransientHubError):
    """Downloaded bytes do not hash to what the Hub promised; nothing of them is recorded. Bytes
    corrupted on the way come right on a new download, so it is retried like a dropped one."""


class ArchiveWriteError(HfIpfsError):
    """Writing the archive failed for a reason no repo is to blame for (disk full, an I/O error, a
    read-only file system): the run stops, and what was not finished stays pending for the next."""
