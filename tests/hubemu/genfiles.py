"""The files of a generated repo, made when a request needs them (info with blobs, tree, resolve).

Each path of ``Entity.paths`` gets small deterministic content by its kind: README.md is the
card's front matter and body (each touch appends a revision comment, so every version has its own
README blob and commit), ``config.json`` and the other JSON files what their names promise
(``config.json`` agrees with the ``config`` field), ``.safetensors`` a valid 1-3 KB safetensors
file, ``.gguf`` the GGUF magic and version, data files parquet/jsonl/csv like ``datasets.py``'s,
Space app files ``spaces.app_files``'. Which files are LFS follows ``repo.is_lfs_path``.

The weights are stand-ins: the ``safetensors`` / ``gguf`` / ``usedStorage`` fields describe the
model the entity pretends to be (billions of parameters), not these few kilobytes.
"""

from __future__ import annotations

import json
import random
import struct
from typing import Any

from .corpus import safetensors_bytes
from .datasets import _text_rows
from .genentity import Entity, datetime_of
from .genmodels import special_tokens
from .repo import DEFAULT_GITATTRIBUTES, RepoFile, is_lfs_path
from .spaces import app_files
from .state import Commit

_GITATTRIBUTES = DEFAULT_GITATTRIBUTES.encode()


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def _content(entity: Entity, path: str, rng: random.Random) -> bytes:
    pipeline, library, model_type, arch, kind = entity.traits or (None,) * 5
    name = path.rsplit("/", 1)[-1]
    if name == ".gitattributes":
        return _GITATTRIBUTES
    if path == "config.json" and arch:
        return _json({"architectures": [arch], "model_type": model_type, "hidden_size": 64, "torch_dtype": "bfloat16"})
    if name == "tokenizer_config.json":
        return _json({**special_tokens(model_type), "model_max_length": 2048})
    if name == "special_tokens_map.json":
        return _json(special_tokens(model_type))
    if name == "adapter_config.json":
        base = entity.bases[0] if entity.bases else None
        return _json({"base_model_name_or_path": base, "peft_type": "LORA", "r": 16, "lora_alpha": 32,
                      "task_type": "CAUSAL_LM", "target_modules": ["q_proj", "v_proj"]})
    if name == "model_index.json":
        return _json({"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.30.0"})
    if name.endswith(".safetensors"):
        return safetensors_bytes(rng, 1024 + rng.randrange(2048))
    if name.endswith(".gguf"):
        return b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + rng.randbytes(1024 + rng.randrange(2048))
    if name.endswith(".parquet"):
        return b"PAR1" + rng.randbytes(2048 + rng.randrange(4096)) + b"PAR1"
    if name.endswith((".jsonl", ".csv")):
        return _text_rows(rng, "csv" if name.endswith(".csv") else "jsonl")
    if name.endswith(".json"):
        return _json({"name": path, "generated": True})
    if name.endswith((".bin", ".pt", ".pth", ".zip", ".mp4", ".png")):
        return rng.randbytes(512 + rng.randrange(2048))
    return f"{name}\n".encode()


def files_at(entity: Entity, seed: int, version: int) -> dict[str, RepoFile]:
    """Every file of ``entity`` at ``version`` (only README.md differs between versions)."""
    rng = random.Random(f"files:{seed}:{entity.type}:{entity.index}")
    out: dict[str, RepoFile] = {}
    app: dict[str, RepoFile] = {}
    if entity.type == "space" and entity.sdk is not None:
        app = {f.path: f for f in app_files(entity.sdk, entity.card, entity.title, rng)}
    for path in entity.paths:
        if path == "README.md":
            data = entity.readme(version)
        elif path in app:
            data = app[path].data
        else:
            data = _content(entity, path, rng)
        out[path] = RepoFile(path, data, is_lfs_path(path, len(data)))
    return out


def history(entity: Entity, seed: int, dates: list[int], sha_of: Any) -> list[Commit]:
    """The commits of ``entity``, oldest first: version 0 at ``dates[0]``, one per touch after."""
    commits: list[Commit] = []
    parent = None
    for version, when in enumerate(dates):
        sha = entity.sha if version == entity.version else sha_of(version)
        title = "Upload folder using huggingface_hub" if version == 0 else "Update README.md"
        commits.append(Commit(sha, files_at(entity, seed, version), datetime_of(when), title, parent))
        parent = sha
    return commits
