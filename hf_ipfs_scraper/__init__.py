"""hf-ipfs-scraper: archive Hugging Face Hub repositories into IPFS with Kubo-identical CIDs.

The curated public API; everything else is an implementation detail (a test checks ``__all__``).
"""


from .catalog import Catalog
from .config import Config, load_config
from .errors import (
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

__all__ = [
    "AddResult",
    "AddedEntry",
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
    "load_config",
]

__version__ = "0.1.0"
