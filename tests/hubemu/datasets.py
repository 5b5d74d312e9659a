"""Dataset repos for ``build_corpus``: real dataset cards, Hub-derived tags, data shards.

* READMEs are the real cards of ``shared/data/dataset_cards/`` (154 canonical Hub datasets, ids such
  as ``ag_news``: one-segment ids are valid Hub ids), shuffled by seed. Every 4th slot takes one of
  the cards whose front matter is missing or broken (no ``cardData``), the others a card with valid
  front matter, so small corpora are well-formed and larger ones carry the real quirks. Without the
  folder (or past its cards) a generated card and ``<author>/synthetic-dataset-NNN`` are used.
* Tags as the Hub derives them from the front matter: ``task_categories:``, ``task_ids:``,
  ``annotations_creators:``, ``language_creators:``, ``multilinguality:``, ``source_datasets:``,
  ``language:``, ``license:``, ``size_categories:`` (old ``languages``/``licenses`` keys and per-config
  mappings flattened), the card's own ``tags``, ``format:<parquet|csv|json>``, ``arxiv:`` ids linked
  from the text, ``region:us``.
* Files: .gitattributes, README.md, sometimes a loading script ``<name>.py`` and
  ``dataset_infos.json``, data files per config and split (``data/train-00000-of-00003.parquet``,
  or ``<config>/...`` for the card's configs when it has at most 3), mostly parquet (LFS, 2 KB to
  ``lfs_max_size`` each), sometimes csv/jsonl; sometimes ``extra/`` samples.
* Slot ``i``: gated when ``i % 5 == 2`` (auto, then manual every other time) or when the card
  asks for it (``extra_gated_*``); private when ``i % 11 == 6``; csv when ``i % 6 == 4``, jsonl when
  ``i % 6 == 5``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from .repo import DEFAULT_GITATTRIBUTES, Repo, RepoFile, card_data_from_readme
from .sources import SHARED_DATA, index_files
from .viewer_data import split_order

DATASET_CARDS = SHARED_DATA / "dataset_cards"
_EPOCH = dt.datetime(2022, 3, 2, 23, 29, 5, tzinfo=dt.timezone.utc)
WORDS = "corpus sample label token review news question answer passage summary text split row shard".split()
LICENSES = ("apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "other")
# The front-matter keys the Hub makes "<key>:<value>" tags of, in the order it lists them, and the
# old plural names some cards use for two of them.
TAG_KEYS = (
    "task_categories", "task_ids", "annotations_creators", "language_creators", "multilinguality",
    "source_datasets", "language", "license", "size_categories",
)
OLD_KEYS = {"language": "languages", "license": "licenses"}
FORMAT_TAG = {"parquet": "parquet", "csv": "csv", "jsonl": "json"}
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)
_SPLIT_NAME = re.compile(r"^(train|validation|valid|test|dev|unsplit)\w*$")
_CONFIG_NAME = re.compile(r"^[\w.-]+$")
MAX_CONFIGS = 3


# -- the cards ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def dataset_cards() -> tuple[tuple[str, bytes], ...]:
    return tuple((row[0], data) for row, data in index_files(DATASET_CARDS))


def pick_cards(seed: int) -> Iterator[tuple[str, bytes, dict[str, Any] | None]]:
    """The cards for slots 0, 1, 2...: (id, README, cardData); every 4th slot a card without
    valid front matter. Cards are parsed only as they are reached (some hold 1 MB of YAML)."""
    cards = list(dataset_cards())
    random.Random(f"{seed}:dataset-cards").shuffle(cards)
    pending = iter(cards)
    queues: dict[bool, list[tuple[str, bytes, dict[str, Any] | None]]] = {True: [], False: []}
    slot = 0
    while True:
        want = slot % 4 != 3
        while not queues[want]:
            card = next(pending, None)
            if card is None:
                break
            data = card_data_from_readme(card[1])
            queues[data is not None].append((card[0], card[1], data))
        queue = queues[want] or queues[not want]
        if not queue:
            return
        yield queue.pop(0)
        slot += 1


# -- tags --------------------------------------------------------------------------------------
def flat_strings(value: object) -> list[str]:
    """A tag value: a string, a list of strings, or a mapping config -> either (old cards)."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        value = [x for v in value.values() for x in flat_strings(v)]
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(x.strip() for x in value if isinstance(x, str) and x.strip()))


def dataset_tags(card_data: dict[str, Any] | None, readme: bytes, data_format: str) -> list[str]:
    card = card_data or {}
    tags = [
        f"{key}:{v}"
        for key in TAG_KEYS
        for v in flat_strings(card.get(key) if card.get(key) is not None else card.get(OLD_KEYS.get(key, "")))
    ]
    tags += flat_strings(card.get("tags"))
    tags.append(f"format:{FORMAT_TAG[data_format]}")
    tags += [f"arxiv:{a}" for a in _ARXIV.findall(readme.decode("utf-8", "replace"))]
    tags.append("region:us")
    return list(dict.fromkeys(tags))


# -- layout: configs and splits ----------------------------------------------------------------
def _split_names(entry: object) -> list[str]:
    splits = entry.get("splits") if isinstance(entry, dict) else None
    names = [s.get("name") for s in splits if isinstance(s, dict)] if isinstance(splits, list) else []
    return split_order(n for n in names if isinstance(n, str) and _SPLIT_NAME.match(n))


def card_layout(card_data: dict[str, Any] | None, rng: random.Random) -> dict[str, list[str]]:
    """config -> splits: the card's configs when it has at most 3, else "default"."""
    card = card_data or {}
    fallback = rng.choice([["train", "test"], ["train", "validation", "test"], ["train"]])
    info, legacy = card.get("dataset_info"), card.get("configs")
    if isinstance(info, list) and 1 < len(info) <= MAX_CONFIGS:
        named = {str(e.get("config_name")): _split_names(e) for e in info if isinstance(e, dict)}
        if all(_CONFIG_NAME.match(c) and c != "None" for c in named):
            return {c: splits or fallback for c, splits in named.items()}
    if isinstance(legacy, list) and 1 < len(legacy) <= MAX_CONFIGS:
        if all(isinstance(c, str) and _CONFIG_NAME.match(c) for c in legacy):
            return {c: fallback for c in legacy}
    return {"default": _split_names(info) or fallback}


# -- files -------------------------------------------------------------------------------------
def _log_size(rng: random.Random, low: int, high: int) -> int:
    return int(low * (high / low) ** rng.random()) if high > low else low


def _text_rows(rng: random.Random, data_format: str) -> bytes:
    rows = [(n, " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16))), rng.randint(0, 1))
            for n in range(rng.randint(20, 400))]
    if data_format == "csv":
        return ("id,text,label\n" + "".join(f"{n},{t},{label}\n" for n, t, label in rows)).encode()
    return "".join(json.dumps({"id": n, "text": t, "label": label}) + "\n" for n, t, label in rows).encode()


def data_files(rng: random.Random, layout: dict[str, list[str]], data_format: str, lfs_max: int) -> list[RepoFile]:
    files = []
    for config, splits in layout.items():
        folder = "data" if config == "default" else config
        for split in splits:
            if data_format != "parquet":
                files.append(RepoFile(f"{folder}/{split}.{data_format}", _text_rows(rng, data_format)))
                continue
            shards = rng.randint(1, 4) if split == "train" else rng.randint(1, 2)
            for k in range(shards):
                body = rng.randbytes(_log_size(rng, 2048, max(2048, lfs_max)) - 8)
                path = f"{folder}/{split}-{k:05d}-of-{shards:05d}.parquet"
                files.append(RepoFile(path, b"PAR1" + body + b"PAR1", True))
    return files


def _script(name: str, card: dict[str, Any]) -> bytes:
    title = card.get("pretty_name") if isinstance(card.get("pretty_name"), str) else name
    return (
        f'"""{title}: a loading script (an emulator stand-in for the old canonical scripts)."""\n\n'
        "import datasets\n\n\n"
        f"class {re.sub(r'[^0-9A-Za-z]', '', name.title()) or 'Dataset'}(datasets.GeneratorBasedBuilder):\n"
        '    VERSION = datasets.Version("1.0.0")\n'
    ).encode()


def _infos(layout: dict[str, list[str]], card: dict[str, Any]) -> bytes:
    infos = {
        config: {
            "description": "",
            "citation": "",
            "features": {"text": {"dtype": "string", "_type": "Value"}, "label": {"dtype": "int64", "_type": "Value"}},
            "splits": {s: {"name": s, "dataset_name": config} for s in splits},
            "license": ", ".join(flat_strings(card.get("license") or card.get("licenses"))),
        }
        for config, splits in layout.items()
    }
    return (json.dumps(infos, indent=2) + "\n").encode()


def generated_card(rng: random.Random, i: int) -> bytes:
    task = rng.choice(["text-classification", "translation", "question-answering", "summarization"])
    return (
        f"---\nlicense: {rng.choice(LICENSES)}\ntask_categories:\n- {task}\nlanguage:\n- en\nsize_categories:\n"
        f"- 1K<n<10K\npretty_name: Synthetic {i}\n---\n\n# Synthetic dataset {i}\n\n"
        f"Rows of {' '.join(rng.sample(WORDS, 8))}.\n\n## Citation Information\n\n"
        f"```\n@misc{{synthetic{i},\n  title = {{Synthetic dataset {i}}},\n  year = {{2024}}\n}}\n```\n"
    ).encode()


def dataset_repo(
    rng: random.Random, i: int, repo_id: str, readme: bytes, card_data: dict[str, Any] | None, lfs_max: int
) -> Repo:
    """One dataset repo for corpus slot ``i`` around ``readme`` (a real or generated card)."""
    card = card_data or {}
    data_format = "csv" if i % 6 == 4 else "jsonl" if i % 6 == 5 else "parquet"
    layout = card_layout(card_data, rng)
    name = repo_id.rsplit("/", 1)[-1]
    files = [RepoFile(".gitattributes", DEFAULT_GITATTRIBUTES.encode()), RepoFile("README.md", readme)]
    script = rng.random() < 0.3
    if script:
        files.append(RepoFile(f"{name}.py", _script(name, card)))
    if rng.random() < (0.5 if script else 0.1):
        files.append(RepoFile("dataset_infos.json", _infos(layout, card)))
    files += data_files(rng, layout, data_format, lfs_max)
    if rng.random() < 0.3:
        extra = rng.choice(["csv", "jsonl"])
        files.append(RepoFile(f"extra/sample.{extra}", _text_rows(rng, extra)))
    gated: Any = ("auto" if (i // 5) % 2 == 0 else "manual") if i % 5 == 2 else False
    if not gated and any(k.startswith("extra_gated") for k in card):
        gated = "auto"
    created = _EPOCH + dt.timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86399))
    modified = created + dt.timedelta(days=rng.randint(0, 300), seconds=rng.randint(0, 86399))
    likes = int(rng.paretovariate(1.2) * 4) - 4
    downloads = likes * rng.randint(5, 400) + rng.randint(0, 300)
    trending = 0 if rng.random() < 0.2 else rng.randint(1, 40)
    tags = dataset_tags(card_data, readme, data_format)
    return Repo("dataset", repo_id, files, trending_score=trending, likes=likes, downloads=downloads, gated=gated,
                private=i % 11 == 6, tags=tags, card_data=card_data, created_at=created, last_modified=modified)
