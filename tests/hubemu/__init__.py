"""A local Hugging Face Hub for tests: the real ``huggingface_hub`` client talks to it unmodified.

    from tests.hubemu import HubEmulator, build_corpus

    with HubEmulator(build_corpus(n_models=5)) as emu:
        HfApi(endpoint=emu.endpoint).list_models(sort="trending_score", limit=3)

Modules: ``repo`` (RepoFile, Repo, git/LFS facts), ``corpus`` (build_corpus), ``state`` (hosted
repos, commits, renames, tokens), ``payloads`` (JSON shapes), ``listing`` (filters, sort,
cursors), ``routes`` (URL -> endpoint), ``quota`` (rate limits), ``hub`` / ``cdn`` (the two
servers' applications), ``wire`` (HTTP plumbing), ``emulator`` (HubEmulator), ``fixtures``
(pytest fixtures).
"""

from .corpus import MINILM_ID, build_corpus, minilm_dir
from .emulator import KINDS, HubEmulator
from .quota import HUB_ANONYMOUS_QUOTAS
from .repo import Repo, RepoFile, git_blob_sha1
from .state import ACCESS_TOKEN, NO_ACCESS_TOKEN

__all__ = [
    "ACCESS_TOKEN",
    "HUB_ANONYMOUS_QUOTAS",
    "KINDS",
    "MINILM_ID",
    "NO_ACCESS_TOKEN",
    "HubEmulator",
    "Repo",
    "RepoFile",
    "build_corpus",
    "git_blob_sha1",
    "minilm_dir",
]
