"""JSON bodies in the shapes the Hub sends (see ``shared/data/hub_api/`` for real recordings).

* Repo info (``GET /api/{type}s/{id}``) and listing items have different default field sets;
  ``expand=`` replaces either with exactly the named fields plus ``_id`` and ``id``.
* Siblings carry ``rfilename`` only, unless ``blobs=true``: then also ``blobId``, ``size`` and
  ``lfs: {sha256, size, pointerSize}``. Tree items say ``oid`` where siblings say ``sha256``.
* A field whose value is unknown is left out, as the Hub does (``model-index`` stays ``null``).
* ``baseModels``, ``childrenModelCount`` and ``usedStorage`` are model-info-only: a model *listing*
  naming them in ``expand`` is a 400 (dataset and Space listings do take ``usedStorage``).
* Derived fields: lineage (``lineage``), dataset ``description``/``citation`` (``cardtext``), Space
  ``runtime`` (``spaces``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from . import cardtext, lineage, spaces
from .repo import Repo, card_data_from_readme, iso, safetensors_parameters
from .state import Commit, Hosted, HubState, TreeEntry

# The valid `expand` names per repo type, as the Hub accepts them (huggingface_hub's
# Expand*Property_T list the same names; tests/test_hub_emulator.py checks they agree).
EXPAND: dict[str, tuple[str, ...]] = {
    "model": (
        "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled",
        "downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "inference",
        "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token",
        "model-index", "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings",
        "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage", "widgetData",
    ),
    "dataset": (
        "author", "cardData", "citation", "createdAt", "description", "disabled", "downloads",
        "downloadsAllTime", "gated", "lastModified", "likes", "mainSize", "paperswithcode_id",
        "private", "resourceGroup", "sha", "siblings", "tags", "trendingScore", "usedStorage",
    ),
    "space": (
        "author", "cardData", "createdAt", "datasets", "disabled", "lastModified", "likes", "models",
        "private", "region", "resourceGroup", "runtime", "sdk", "sha", "siblings", "subdomain", "tags",
        "trendingScore", "usedStorage", "visibility",
    ),
}

# What a listing's `expand` may not name (the Hub computes these per repo, on model_info only).
LIST_REFUSED: dict[str, frozenset[str]] = {"model": frozenset({"baseModels", "childrenModelCount", "usedStorage"})}
LIST_EXPAND: dict[str, tuple[str, ...]] = {
    t: tuple(n for n in names if n not in LIST_REFUSED.get(t, ())) for t, names in EXPAND.items()
}

INFO_FIELDS: dict[str, tuple[str, ...]] = {
    "model": (
        "_id", "id", "private", "pipeline_tag", "library_name", "tags", "downloads", "likes", "modelId",
        "author", "sha", "lastModified", "gated", "disabled", "mask_token", "widgetData", "model-index",
        "config", "cardData", "transformersInfo", "siblings", "spaces", "createdAt", "safetensors",
        "usedStorage",
    ),
    "dataset": (
        "_id", "id", "author", "sha", "lastModified", "private", "gated", "disabled", "tags", "citation",
        "description", "paperswithcode_id", "downloads", "likes", "cardData", "siblings", "createdAt",
        "usedStorage",
    ),
    "space": (
        "_id", "id", "author", "sha", "lastModified", "private", "gated", "disabled", "host", "subdomain",
        "likes", "sdk", "tags", "siblings", "createdAt", "cardData", "runtime", "models", "datasets",
        "usedStorage",
    ),
}

LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "model": (
        "_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
        "library_name", "createdAt", "modelId",
    ),
    "dataset": (
        "_id", "id", "author", "sha", "lastModified", "private", "gated", "disabled", "downloads", "likes",
        "tags", "trendingScore", "createdAt", "description",
    ),
    "space": ("_id", "id", "likes", "trendingScore", "private", "sdk", "tags", "createdAt"),
}

# What `full=true` adds to a listing item.
LIST_FULL_EXTRA: dict[str, tuple[str, ...]] = {
    "model": ("author", "sha", "lastModified", "gated", "disabled", "siblings"),
    "dataset": ("cardData", "siblings"),
    "space": ("author", "sha", "lastModified", "gated", "disabled", "siblings", "cardData", "subdomain"),
}

KEEP_NULL = {"model-index"}

_AUTO_MODEL = {
    "fill-mask": "AutoModelForMaskedLM",
    "text-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "text-generation": "AutoModelForCausalLM",
    "translation": "AutoModelForSeq2SeqLM",
    "summarization": "AutoModelForSeq2SeqLM",
}


def _json_file(commit: Commit, path: str) -> dict[str, Any] | None:
    f = commit.files.get(path)
    if f is None or f.size > 5_000_000:
        return None
    try:
        data = json.loads(f.data)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Fields:
    """Lazily computed wire fields of one repo at one commit (``state``: the other hosted repos,
    for the fields that look at them: ``baseModels``, ``childrenModelCount``)."""

    def __init__(
        self, hosted: Hosted, repo: Repo, commit: Commit, *, blobs: bool = False, state: HubState | None = None
    ) -> None:
        self.hosted, self.repo, self.commit, self.blobs, self.state = hosted, repo, commit, blobs, state

    def get(self, name: str) -> Any:
        method = getattr(self, "f_" + name.replace("-", "_"), None)
        if method is not None:
            return method()
        return getattr(self.repo, name, None) if name in ("private", "gated", "disabled", "likes") else None

    def select(self, names: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            value = self.get(name)
            if value is not None or name in KEEP_NULL:
                out[name] = value
        return out

    # -- identity and counters
    def f__id(self) -> str:
        return self.hosted.object_id

    def f_id(self) -> str:
        return self.repo.id

    def f_modelId(self) -> str:
        return self.repo.id

    def f_author(self) -> str | None:
        return self.repo.author or None

    def f_sha(self) -> str:
        return self.commit.sha

    def f_lastModified(self) -> str:
        return iso(self.commit.date)

    def f_createdAt(self) -> str:
        return iso(self.repo.created_at)

    def f_downloads(self) -> int | None:
        return None if self.repo.type == "space" else self.repo.downloads

    def f_downloadsAllTime(self) -> int | None:
        return None if self.repo.type == "space" else self.repo.downloads * 7 + self.repo.likes

    def f_trendingScore(self) -> int:
        return self.repo.trending_score

    def f_tags(self) -> list[str]:
        return lineage.effective_tags(self.repo)

    def f_pipeline_tag(self) -> str | None:
        return self.repo.pipeline_tag if self.repo.type == "model" else None

    def f_library_name(self) -> str | None:
        return self.repo.library_name if self.repo.type == "model" else None

    def f_sdk(self) -> str | None:
        return self.repo.sdk if self.repo.type == "space" else None

    # -- content-derived
    def f_cardData(self) -> dict[str, Any] | None:
        if self.commit is self.hosted.head:
            return self.repo.card_data
        readme = self.commit.files.get("README.md")
        return card_data_from_readme(readme.data) if readme else None

    def f_siblings(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.commit.files):
            f = self.commit.files[path]
            item: dict[str, Any] = {"rfilename": path}
            if self.blobs:
                item["blobId"] = f.blob_id
                item["size"] = f.size
                if f.lfs:
                    item["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
            out.append(item)
        return out

    def f_usedStorage(self) -> int:
        blobs = {f.blob_id: f.size for c in self.hosted.history for f in c.files.values()}
        return sum(blobs.values())

    def f_config(self) -> dict[str, Any] | None:
        if self.repo.type != "model":
            return None
        config = _json_file(self.commit, "config.json")
        if config is None:
            return None
        out = {k: config[k] for k in ("architectures", "model_type") if k in config}
        tokenizer = _json_file(self.commit, "tokenizer_config.json") or {}
        out["tokenizer_config"] = {
            k: v for k, v in tokenizer.items() if k.endswith("_token") and isinstance(v, (str, dict))
        }
        return out

    def f_transformersInfo(self) -> dict[str, Any] | None:
        if self.repo.library_name != "transformers":
            return None
        return {
            "auto_model": _AUTO_MODEL.get(self.repo.pipeline_tag or "", "AutoModel"),
            "pipeline_tag": self.repo.pipeline_tag,
            "processor": "AutoTokenizer",
        }

    def f_safetensors(self) -> dict[str, Any] | None:
        if self.repo.type != "model":
            return None
        counts: dict[str, int] = {}
        for path, f in self.commit.files.items():
            if path.endswith(".safetensors"):
                for dtype, n in (safetensors_parameters(f.data) or {}).items():
                    counts[dtype] = counts.get(dtype, 0) + n
        return {"parameters": counts, "total": sum(counts.values())} if counts else None

    def f_model_index(self) -> Any:
        return (self.f_cardData() or {}).get("model-index")

    def f_mask_token(self) -> str | None:
        return "[MASK]" if self.repo.pipeline_tag == "fill-mask" else None

    def f_widgetData(self) -> Any:
        return (self.f_cardData() or {}).get("widget")

    def f_spaces(self) -> list[str] | None:
        return [] if self.repo.type == "model" else None

    def _models(self) -> list[Hosted]:
        return self.state.all("model") if self.state is not None else [self.hosted]

    def f_baseModels(self) -> dict[str, Any] | None:
        if self.repo.type != "model":
            return None
        hosted_ids = {h.repo.id: h.object_id for h in self._models() if not h.repo.private}
        return lineage.base_models_field(self.f_cardData(), hosted_ids)

    def f_childrenModelCount(self) -> dict[str, int] | None:
        if self.repo.type != "model":
            return None
        return lineage.children_count(self.repo.id, (h.repo for h in self._models()))

    # -- datasets
    def _dataset_readme(self) -> bytes | None:
        readme = self.commit.files.get("README.md") if self.repo.type == "dataset" else None
        return readme.data if readme is not None else None

    def f_description(self) -> str | None:
        readme = self._dataset_readme()
        return cardtext.description(readme, self.repo.id) if readme is not None else None

    def f_citation(self) -> str | None:
        readme = self._dataset_readme()
        return cardtext.citation(readme) if readme is not None else None

    def f_paperswithcode_id(self) -> str | None:
        return (self.f_cardData() or {}).get("paperswithcode_id") if self.repo.type == "dataset" else None

    def f_mainSize(self) -> int | None:
        return self.f_usedStorage() if self.repo.type == "dataset" else None

    # -- spaces
    def f_subdomain(self) -> str | None:
        if self.repo.type != "space":
            return None
        return self.repo.id.replace("/", "-").replace("_", "-").replace(".", "-").lower()

    def f_host(self) -> str | None:
        sub = self.f_subdomain()
        return f"https://{sub}.hf.space" if sub else None

    def f_runtime(self) -> dict[str, Any] | None:
        sub = self.f_subdomain()
        return spaces.runtime(self.repo, sub) if sub is not None else None

    def f_models(self) -> list[str] | None:
        return list((self.f_cardData() or {}).get("models") or []) if self.repo.type == "space" else None

    def f_datasets(self) -> list[str] | None:
        return list((self.f_cardData() or {}).get("datasets") or []) if self.repo.type == "space" else None

    def f_region(self) -> str | None:
        return "us" if self.repo.type == "space" else None

    def f_visibility(self) -> str | None:
        """Spaces only (huggingface_hub 2.5 reads it into ``SpaceInfo.visibility``); the emulator
        hosts no "protected" Space, so it is what ``private`` says."""
        if self.repo.type != "space":
            return None
        return "private" if self.repo.private else "public"


def info_payload(fields: Fields, expand: list[str] | None) -> dict[str, Any]:
    if expand:
        return fields.select(["_id", "id", *expand])
    return fields.select(INFO_FIELDS[fields.repo.type])


def list_item(fields: Fields, expand: list[str] | None, *, full: bool, card_data: bool, config: bool) -> dict:
    repo_type = fields.repo.type
    if expand:
        return fields.select(["_id", "id", *expand])
    names = list(LIST_FIELDS[repo_type])
    if full:
        names += LIST_FULL_EXTRA[repo_type]
    if card_data and "cardData" not in names:
        names.append("cardData")
    if config and repo_type == "model":
        names.append("config")
    return fields.select(dict.fromkeys(names))


def tree_item(entry: TreeEntry, hosted: Hosted, commit: Commit, *, expand: bool) -> dict[str, Any]:
    if entry.type == "directory":
        item: dict[str, Any] = {"type": "directory", "oid": entry.oid, "size": 0, "path": entry.path}
    else:
        f = entry.file
        assert f is not None
        item = {"type": "file", "oid": f.blob_id, "size": f.size, "path": entry.path}
        if f.lfs:
            item["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": len(f.pointer)}
    if expand:
        last = hosted.last_commit(commit, entry.path)
        item["lastCommit"] = {"id": last.sha, "title": last.title, "date": iso(last.date)}
        if entry.type == "file":
            item["securityFileStatus"] = {
                "status": "safe",
                "avScan": {"virusFound": False, "virusNames": None},
                "pickleImportScan": None,
            }
    return item
