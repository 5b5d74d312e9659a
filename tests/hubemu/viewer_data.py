"""What the dataset viewer knows of a hosted dataset: configs, splits, features, first rows.

Configs and splits come from the data files at the repo's head, resolved as the ``datasets``
library resolves a repo without a loading script: files under ``data/`` make the ``default``
config; otherwise each top-level folder holding split files is a config; otherwise split files at
the root make ``default``. A split file is ``<split>[-NNNNN-of-NNNNN].<parquet|csv|jsonl|json>``
with a split name starting ``train``/``validation``/``valid``/``test``/``dev``/``unsplit``. A repo with
no such file has no data: the viewer cannot process it.

Rows are synthetic (3-5 per split, the same for the same dataset, config and split): a ``text``
string and a ``label`` ClassLabel, typed as in the spec's stanfordnlp/imdb example; the label
names are the card's ``dataset_info`` class names when it has them, else ``["neg", "pos"]``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from typing import Any

_SPLIT_FILE = re.compile(
    r"^(?P<split>(?:train|validation|valid|test|dev|unsplit)\w*?)(?:-\d{5}-of-\d{5})?\.(?:parquet|csv|jsonl|json)$"
)
_FIRST = ("train", "validation", "valid", "dev", "test")
WORDS = (
    "the a film story plot actor scene good bad great slow funny dull moving long short music ending "
    "director character role script camera watch again never loved hated"
).split()


def split_order(names: Iterable[str]) -> list[str]:
    """train, validation, test first (as the viewer lists them), then the others by name."""
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=lambda n: (_FIRST.index(n) if n in _FIRST else len(_FIRST), n))


def layout(paths: Iterable[str]) -> dict[str, list[str]]:
    """config -> splits of a repo's file paths ({} when it holds no data file)."""
    by_folder: dict[str, list[str]] = {}
    for path in paths:
        folder, _, name = path.rpartition("/")
        match = _SPLIT_FILE.match(name)
        if match is not None and "/" not in folder:
            by_folder.setdefault(folder, []).append(match.group("split"))
    if "data" in by_folder:
        return {"default": split_order(by_folder["data"])}
    configs = {f: split_order(s) for f, s in sorted(by_folder.items()) if f}
    if configs:
        return configs
    return {"default": split_order(by_folder[""])} if "" in by_folder else {}


def label_names(card_data: Mapping[str, Any] | None) -> list[str]:
    info = (card_data or {}).get("dataset_info")
    entries = info if isinstance(info, list) else [info]
    for entry in entries:
        features = entry.get("features") if isinstance(entry, dict) else None
        for feature in features if isinstance(features, list) else []:
            dtype = feature.get("dtype") if isinstance(feature, dict) else None
            names = dtype.get("class_label", {}).get("names") if isinstance(dtype, dict) else None
            if isinstance(names, dict):
                names = [names[k] for k in sorted(names, key=lambda k: int(k) if str(k).isdigit() else 0)]
            if isinstance(names, list) and names and all(isinstance(n, (str, int)) for n in names):
                return [str(n) for n in names]
    return ["neg", "pos"]


def features(names: list[str]) -> list[dict[str, Any]]:
    return [
        {"feature_idx": 0, "name": "text", "type": {"dtype": "string", "_type": "Value"}},
        {"feature_idx": 1, "name": "label", "type": {"names": names, "_type": "ClassLabel"}},
    ]


def first_rows(dataset: str, config: str, split: str, names: list[str]) -> dict[str, Any]:
    rng = random.Random(f"{dataset}\0{config}\0{split}")
    rows = []
    for idx in range(rng.randint(3, 5)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 40))]
        text = " ".join(words).capitalize() + "."
        rows.append({"row_idx": idx, "row": {"text": text, "label": rng.randrange(len(names))}, "truncated_cells": []})
    return {
        "dataset": dataset,
        "config": config,
        "split": split,
        "features": features(names),
        "rows": rows,
        "truncated": False,
    }
