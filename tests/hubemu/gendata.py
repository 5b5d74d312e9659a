"""Generated datasets and Spaces (the presentation half; ``genentity`` does models).

* A dataset has a card for 3 in 4 (license, task categories, languages, size category, sometimes
  the older annotation/multilinguality/source keys and a ``configs`` block); its tags are what
  ``datasets.dataset_tags`` derives (as for the real cards) plus ``modality:`` and ``library:``
  tags before ``region:us``. ``source_datasets`` names an earlier generated dataset for 1 in 20
  of the classic cards (``derived_from`` lineage). ``description`` is what ``cardtext.description``
  renders from the README body; ``citation`` the BibTeX of its Citation section (1 in 10).
* A Space's card has the Space keys (title, emoji, colours, sdk and version, app_file, pinned),
  sometimes a license, a short description, the ``models`` it uses (popular bases mostly) and
  ``datasets``; its files are ``spaces.app_files`` for its sdk; static Spaces always run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import gentables as t
from .datasets import FORMAT_TAG, TAG_KEYS
from .gencore import GATED_AUTO, GATED_MANUAL, PRESENTATION, Rng
from .genentity import Entity, common_fields

if TYPE_CHECKING:
    from .generated import GeneratedHub

_FORMAT_EXT = {"parquet": "parquet", "json": "jsonl", "csv": "csv"}
_MODALITY = {
    "automatic-speech-recognition": "audio", "audio-classification": "audio", "image-classification": "image",
    "object-detection": "image", "image-to-text": "image", "visual-question-answering": "image",
    "time-series-forecasting": "timeseries",
}
DATASET_TAGS = t.Table([(x, 1.0) for x in ("synthetic", "sft", "dpo", "rlhf", "reasoning", "instruction-finetuning")])
_SPACE_PATHS = {  # spaces.app_files' names for each sdk
    sdk: tuple(sorted([".gitattributes", "README.md", *app]))
    for sdk, app in (("gradio", ["app.py", "requirements.txt"]), ("streamlit", ["app.py", "requirements.txt"]),
                     ("static", ["index.html", "style.css"]), ("docker", ["Dockerfile"]))
}
SPACE_TEMPLATE_LINE = "Check out the configuration reference at https://huggingface.co/docs/hub/spaces-config-reference"


def _title(stem: str) -> str:
    return " ".join(w.capitalize() for w in stem.replace("_", "-").split("-") if w)


def _picks(r: Rng, table: t.Table[str], most: int) -> list[str]:
    return list(dict.fromkeys(table.pick(r.u()) for _ in range(1 + r.below(most))))


def dataset_card_tags(card: dict[str, Any] | None, ext: str) -> list[str]:
    """``datasets.dataset_tags(card, b"", ext)`` for a generated card (lists of clean strings, no
    old plural keys, no README links), without its general-purpose flattening."""
    tags: list[str] = []
    if card:
        for key in TAG_KEYS:
            value = card.get(key)
            if value is not None:
                tags += [f"{key}:{v}" for v in ([value] if isinstance(value, str) else value)]
        tags += card.get("tags") or ()
    tags += [f"format:{FORMAT_TAG[ext]}", "region:us"]
    return list(dict.fromkeys(tags))


def dataset_entity(hub: GeneratedHub, i: int) -> Entity:
    store = hub.stores["dataset"]
    common = common_fields(hub, store, i)
    r = Rng(hub.seed, 1, i, PRESENTATION + 10)
    data_format = t.DATASET_FORMATS.pick(r.u())
    stem = hub.namer.stem("dataset", i)
    title = _title(stem)
    card: dict[str, Any] | None = None
    if r.chance(t.DATASET_CARD_P["card"]):
        card = {}
        if r.chance(0.85):
            card["license"] = t.DATASET_LICENSES.pick(r.u())
        card["task_categories"] = _picks(r, t.DATASET_TASKS, 2)
        if r.chance(t.DATASET_CARD_P["language"]):
            card["language"] = _picks(r, t.DATASET_LANGUAGES, 2)
        card["size_categories"] = [t.DATASET_SIZES.pick(r.u())]
        if r.chance(0.5):
            card["pretty_name"] = title
        if r.chance(t.DATASET_CARD_P["classic"]):
            card["annotations_creators"] = [t.ANNOTATIONS.pick(r.u())]
            card["language_creators"] = ["found"]
            card["multilinguality"] = [t.MULTILINGUALITY.pick(r.u())]
            source = ["original"]
            if i > 0 and r.chance(0.05):
                source = [f"extended|{hub.namer.original_id('dataset', r.below(i))}"]
            card["source_datasets"] = source
            card["task_ids"] = [t.DATASET_TASK_IDS.pick(r.u())]
        if r.chance(0.2):
            card["tags"] = _picks(r, DATASET_TAGS, 2)
        if data_format == "parquet" and r.chance(0.5):
            card["configs"] = [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}]
        if common["flags"] & (GATED_AUTO | GATED_MANUAL):
            card["extra_gated_prompt"] = "You agree to not use the dataset to conduct experiments that cause harm."
        if r.chance(t.DATASET_CARD_P["paperswithcode_id"]):
            card["paperswithcode_id"] = stem.lower()
    ext = _FORMAT_EXT[data_format]
    has_readme = card is not None or r.chance(0.3)
    paths = [".gitattributes"] + (["README.md"] if has_readme else [])
    if data_format == "parquet":
        shards = 1 + (r.u() < 0.2)
        paths += [f"data/train-{k:05d}-of-{shards:05d}.parquet" for k in range(shards)]
        if r.chance(0.4):
            paths.append("data/test-00000-of-00001.parquet")
    else:
        paths += [f"data/train.{ext}"] + ([f"data/test.{ext}"] if r.chance(0.3) else [])
    tags = dataset_card_tags(card, ext)
    modality = _MODALITY.get(next(iter((card or {}).get("task_categories") or []), ""), "text")
    libraries = ["library:datasets", "library:pandas", "library:mlcroissant"] + (["library:polars"] if r.chance(0.7) else [])
    tags = tags[:-1] + [f"modality:{modality}", *libraries, "region:us"]
    sentence = f"{title}: {1 + r.below(900)}K rows of {t.TOPICS[r.below(len(t.TOPICS))]} data for {' and '.join(card['task_categories']) if card else 'research'}."
    body = description = citation = None
    if has_readme:
        body = f"\n# {title}\n\n{sentence}\n"
        description = f"\n\t\n\t\t\n\t\t{title}\n\t\n\n{sentence}\n"
        if r.chance(t.DATASET_CARD_P["citation"]):
            author = common["id"].split("/")[0]
            citation = f"@misc{{{stem.replace('-', '_')},\n  title = {{{title}}},\n  author = {{{author}}},\n  year = {{2024}}\n}}"
            body += f"\n## Citation\n\n```bibtex\n{citation}\n```\n"
    used = max(int(5_000_000 * 2.718281828 ** (3.0 * r.normal())), 2_000)
    return Entity(
        **common, tags=tags, card=card, paths=tuple(sorted(paths)), used_storage=used, title=title, body=body or "",
        description=description, citation=citation, traits=(None, None, None, None, data_format),
    )


def space_entity(hub: GeneratedHub, i: int) -> Entity:
    store = hub.stores["space"]
    common = common_fields(hub, store, i)
    r = Rng(hub.seed, 2, i, PRESENTATION + 10)
    sdk = t.SPACE_SDKS.pick(r.u())
    stage = "RUNNING" if sdk == "static" else t.SPACE_STAGES.pick(r.u())
    stem = hub.namer.stem("space", i)
    title = _title(stem)
    card: dict[str, Any] = {
        "title": title, "emoji": t.SPACE_EMOJI.pick(r.u()), "colorFrom": t.SPACE_COLORS.pick(r.u()),
        "colorTo": t.SPACE_COLORS.pick(r.u()), "sdk": sdk,
    }
    if sdk == "gradio":
        card["sdk_version"] = t.GRADIO_VERSIONS.pick(r.u())
    elif sdk == "streamlit":
        card["sdk_version"] = t.STREAMLIT_VERSIONS.pick(r.u())
    if sdk in ("gradio", "streamlit"):
        card["app_file"] = "app.py"
    elif sdk == "docker" and r.chance(0.3):
        card["app_port"] = 7860
    card["pinned"] = False
    if r.chance(t.SPACE_CARD_P["license"]):
        card["license"] = "apache-2.0" if r.chance(0.8) else "mit"
    if r.chance(t.SPACE_CARD_P["short_description"]):
        card["short_description"] = f"{title} in the browser"
    models = hub.initial["model"]  # the sizes at creation: an entity never changes with later ones
    if models and r.chance(t.SPACE_CARD_P["models"]):
        picked = []
        for _ in range(1 + r.below(3)):
            j = hub.popular.pick(r.u()) if hub.popular is not None and r.chance(0.7) else r.below(models)
            picked.append(hub.namer.original_id("model", j))
        card["models"] = list(dict.fromkeys(picked))
    if hub.initial["dataset"] and r.chance(t.SPACE_CARD_P["datasets"]):
        card["datasets"] = [hub.namer.original_id("dataset", r.below(hub.initial["dataset"]))]
    if r.chance(t.SPACE_CARD_P["tags"]):
        card["tags"] = [t.SPACE_TAGS.pick(r.u())]
    paths = _SPACE_PATHS[sdk]
    tags = list(dict.fromkeys([sdk, *card.get("tags", []), "region:us"]))
    used = max(int(300_000 * 2.718281828 ** (2.5 * r.normal())), 1_500)
    return Entity(
        **common, tags=tags, card=card, sdk=sdk, stage=stage, paths=paths, used_storage=used, title=title,
        body=f"\n{SPACE_TEMPLATE_LINE}\n", traits=(None, None, None, None, sdk),
    )
