"""A local Hugging Face Hub for tests: the real ``huggingface_hub`` client talks to it unmodified.

    from tests.hubemu import HubEmulator, build_corpus

    with HubEmulator(build_corpus(n_models=5)) as emu:
        HfApi(endpoint=emu.endpoint).list_models(sort="trending_score", limit=3)

Modules: ``repo`` (RepoFile, Repo, git/LFS facts), ``corpus`` (build_corpus), ``datasets`` /
``spaces`` (dataset and Space repos from the real cards in ``shared/data``), ``state`` (hosted
repos, commits, renames, tokens), ``payloads`` (JSON shapes), ``lineage`` (base models),
``cardtext`` (dataset description and citation), ``listing`` (filters, sort, cursors), ``routes``
(URL -> endpoint), ``quota`` (rate limits), ``faults`` (seeded Hub / CDN faults: FaultPlan),
``hub`` / ``cdn`` / ``viewer`` (the three servers' applications; ``viewer_data``: configs, splits,
rows), ``wire`` (HTTP plumbing), ``emulator`` (HubEmulator), ``fixtures`` (pytest fixtures).

A whole-Hub scale (hundreds of thousands of entities, made lazily from a seed)::

    with HubEmulator(generated=GeneratedHub(models=140_000, datasets=30_000, spaces=30_000)) as emu:
        ...

``generated`` (GeneratedHub: mutations and the truth for assertions), ``gentables`` (the
distributions and their sources), ``gencore`` (dates, counters, flags, lineage: compact arrays),
``genentity`` / ``gendata`` (ids, cards, tags, files of models / datasets and Spaces),
``genfiles`` (file contents on demand), ``genindex`` (sorted indexes: O(page) listings),
``genserve`` (wire fields of a generated entity).
"""

from .corpus import MINILM_ID, build_corpus, minilm_dir
from .emulator import KINDS, HubEmulator
from .faults import FaultPlan
from .generated import GeneratedHub
from .quota import HUB_ANONYMOUS_QUOTAS
from .repo import Repo, RepoFile, git_blob_sha1
from .spaces import demo_space
from .state import ACCESS_TOKEN, NO_ACCESS_TOKEN
from .viewer import MODES as VIEWER_MODES

__all__ = [
    "ACCESS_TOKEN",
    "FaultPlan",
    "GeneratedHub",
    "HUB_ANONYMOUS_QUOTAS",
    "KINDS",
    "MINILM_ID",
    "NO_ACCESS_TOKEN",
    "HubEmulator",
    "Repo",
    "RepoFile",
    "VIEWER_MODES",
    "build_corpus",
    "demo_space",
    "git_blob_sha1",
    "minilm_dir",
]
