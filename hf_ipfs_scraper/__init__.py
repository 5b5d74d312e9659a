"""hf-ipfs-scraper: archive Hugging Face Hub repositories into IPFS with Kubo-identical CIDs.

The curated public API; everything else is an implementation detail (a test checks ``__all__``).

Names are imported when first used (PEP 562): importing one module of the package (the search
writer's process imports ``hf_ipfs_scraper.search``) costs what that module imports, not the
whole package.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .catalog import Catalog
    from .config import Config, load_config
    from .errors import (
        ArchiveWriteError,
        BlockNotFoundError,
        HubError,
        IntegrityError,
        RepoUnavailableError,
        CarError,
        CodecError,
        ConfigError,
        HfIpfsError,
        InvalidInputError,
        InvalidNameError,
        NotAStoreError,
        ReadOnlyStoreError,
        StoreError,
        StoreLockedError,
        TransientHubError,
    )
    from .ipfs.cid import CID
    from .ipfs.fsimport import AddedEntry, AddResult
    from .ipfs.importer import Node
    from .ipfs.options import ImportOptions
    from .mirror import Mirror
    from .pipeline import BytesReceived, RepoFinished, RunStarted, RunSummary
    from .provenance import ProvenanceTracker
    from .records import DatasetRecord, ModelRecord, RepoRecord, SpaceRecord
    from .storage.base import Storage
    from .storage.embedded import EmbeddedStore

_EXPORTS = {
    "Catalog": ".catalog",
    "Config": ".config",
    "load_config": ".config",
    "ArchiveWriteError": ".errors",
    "BlockNotFoundError": ".errors",
    "HubError": ".errors",
    "IntegrityError": ".errors",
    "RepoUnavailableError": ".errors",
    "CarError": ".errors",
    "CodecError": ".errors",
    "ConfigError": ".errors",
    "HfIpfsError": ".errors",
    "InvalidInputError": ".errors",
    "InvalidNameError": ".errors",
    "NotAStoreError": ".errors",
    "ReadOnlyStoreError": ".errors",
    "StoreError": ".errors",
    "StoreLockedError": ".errors",
    "TransientHubError": ".errors",
    "CID": ".ipfs.cid",
    "AddedEntry": ".ipfs.fsimport",
    "AddResult": ".ipfs.fsimport",
    "Node": ".ipfs.importer",
    "ImportOptions": ".ipfs.options",
    "Mirror": ".mirror",
    "BytesReceived": ".pipeline",
    "RepoFinished": ".pipeline",
    "RunStarted": ".pipeline",
    "RunSummary": ".pipeline",
    "ProvenanceTracker": ".provenance",
    "DatasetRecord": ".records",
    "ModelRecord": ".records",
    "RepoRecord": ".records",
    "SpaceRecord": ".records",
    "Storage": ".storage.base",
    "EmbeddedStore": ".storage.embedded",
}

__all__ = [
    "AddResult",
    "AddedEntry",
    "ArchiveWriteError",
    "BlockNotFoundError",
    "BytesReceived",
    "CID",
    "Catalog",
    "CarError",
    "CodecError",
    "Config",
    "ConfigError",
    "DatasetRecord",
    "EmbeddedStore",
    "HfIpfsError",
    "HubError",
    "ImportOptions",
    "IntegrityError",
    "InvalidInputError",
    "InvalidNameError",
    "Mirror",
    "ModelRecord",
    "Node",
    "NotAStoreError",
    "ProvenanceTracker",
    "ReadOnlyStoreError",
    "RepoFinished",
    "RepoRecord",
    "RepoUnavailableError",
    "RunStarted",
    "RunSummary",
    "SpaceRecord",
    "Storage",
    "StoreError",
    "StoreLockedError",
    "TransientHubError",
    "load_config",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
