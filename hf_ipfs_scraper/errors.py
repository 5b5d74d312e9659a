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
    └── HubError                          talking to the Hugging Face Hub
        ├── RepoUnavailableError          gated without access, private, missing: skip it, say why
        └── IntegrityError                downloaded bytes differ from the Hub's sha256 / git oid
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


class IntegrityError(HubError):
    """Downloaded bytes do not hash to what the Hub promised; nothing of them is recorded."""
