"""hf-ipfs-scraper: archive Hugging Face Hub repositories into IPFS with Kubo-identical CIDs.

The curated public API; everything else is an implementation detail (a test checks ``__all__``).
"""


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
from .pipeline import RunSummary
from .storage.base import Storage
from .storage.embedded import EmbeddedStore

__all__ = [
    "AddResult",
    "AddedEntry",
    "BlockNotFoundError",
    "CID",
    "CarError",
    "CodecError",
    "Config",
    "ConfigError",
    "EmbeddedStore",
    "HfIpfsError",
    "HubError",
    "ImportOptions",
    "IntegrityError",
    "InvalidInputError",
    "InvalidNameError",
    "Mirror",
    "Node",
    "NotAStoreError",
    "ReadOnlyStoreError",
    "RepoUnavailableError",
    "RunSummary",
    "Storage",
    "StoreError",
    "StoreLockedError",
    "load_config",
]

__version__ = "0.1.0"
