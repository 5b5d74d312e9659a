"""The environment a huggingface_hub process needs to talk to the emulator from its first import.

huggingface_hub reads HF_ENDPOINT and friends into constants at import time, so a child process
(CLI tests, benchmarks) must get them in its environment; the fixtures patch them in-process too.
"""

from __future__ import annotations

import os

ENV_SET = {
    "HF_HUB_DISABLE_XET": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "0",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}
ENV_CLEAR = (
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_CACHE", "HF_XET_CACHE",
    "HF_ASSETS_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_OFFLINE", "HF_OIDC_RESOURCE", "HF_ENDPOINT",
)


def client_env(endpoint: str, home: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """A full environment for a child process that should use the emulator at ``endpoint``."""
    env = dict(os.environ if base is None else base)
    env.update(ENV_SET)
    for name in ENV_CLEAR:
        env.pop(name, None)
    env.update(HF_HOME=home, HF_ENDPOINT=endpoint)
    return env
