"""Space repos for ``build_corpus``: the real Space READMEs, demo Spaces that use corpus models,
and the ``runtime`` object the Hub reports.

* Real cards: ``shared/data/space_cards/`` (39 READMEs). The id is the INDEX's
  ``space_id_or_folder`` when that is the Space id (the folder is the same id with ``__`` for
  ``/``), else the folder read as ``owner__name`` (``huggingface__chat-ui`` -> ``huggingface/chat-ui``):
  the other INDEX values are source folders, not valid Space ids.
* ``sdk`` is the card's (``gradio|streamlit|static|docker``); a card PyYAML cannot parse (the
  cookiecutter template) has no ``cardData`` and its ``sdk:`` line is read as text. App files by
  sdk: ``app.py`` + ``requirements.txt`` (gradio, streamlit; at the card's ``app_file``),
  ``index.html`` + ``style.css`` (static), ``Dockerfile`` (docker).
* ``demo_space`` makes a gradio/streamlit Space whose card lists given ``models``/``datasets``:
  ``build_corpus`` uses it for every 3rd Space (and past the real cards) with corpus repos.
* ``runtime``: the shapes of the recorded ``/api/spaces/.../runtime`` answers
  (``shared/data/hub_api``): a static Space has no hardware, gcTimeout, devMode or domains; a
  running one has ``cpu-basic`` and its ``<subdomain>.hf.space`` domain; a stopped one (``SLEEPING``,
  ``BUILDING``...) has no current hardware and only the requested replica.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from .repo import DEFAULT_GITATTRIBUTES, Repo, RepoFile, card_data_from_readme
from .sources import SHARED_DATA, index_files

SPACE_CARDS = SHARED_DATA / "space_cards"
SDKS = ("gradio", "streamlit", "static", "docker")
SDK_VERSIONS = {"gradio": "4.19.2", "streamlit": "1.39.0"}
_EPOCH = dt.datetime(2022, 3, 2, 23, 29, 5, tzinfo=dt.timezone.utc)
_SDK_LINE = re.compile(r"^sdk:\s*(\w+)\s*$", re.MULTILINE)
_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
WORDS = "demo app model predict text image audio chat search embed compare classify".split()


@lru_cache(maxsize=1)
def space_cards() -> tuple[tuple[str, bytes], ...]:
    cards = []
    for row, data in index_files(SPACE_CARDS):
        named, folder = row[0], row[1].split("/")[0]
        cards.append((named if named.replace("/", "__") == folder else folder.replace("__", "/", 1), data))
    return tuple(cards)


def card_sdk(card_data: dict[str, Any] | None, readme: bytes) -> str:
    sdk = (card_data or {}).get("sdk")
    if not isinstance(sdk, str):
        match = _SDK_LINE.search(readme.decode("utf-8", "replace"))
        sdk = match.group(1) if match else "gradio"
    return sdk if sdk in SDKS else "gradio"


def app_files(sdk: str, card_data: dict[str, Any] | None, title: str, rng: random.Random) -> list[RepoFile]:
    """The small app files a Space of ``sdk`` has."""
    card = card_data or {}
    app_file = card.get("app_file") if isinstance(card.get("app_file"), str) else None
    word = rng.choice(WORDS)
    if sdk in ("gradio", "streamlit"):
        body = (
            "import gradio as gr\n\n"
            f'gr.Interface(fn=lambda x: x, inputs="text", outputs="text", title={title!r}).launch()\n'
            if sdk == "gradio"
            else f"import streamlit as st\n\nst.title({title!r})\nst.write({word!r})\n"
        )
        requirements = f"{sdk}\ntransformers\n".encode()
        return [RepoFile(app_file or "app.py", body.encode()), RepoFile("requirements.txt", requirements)]
    if sdk == "static":
        page = (
            f'<!doctype html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            '<link rel="stylesheet" href="style.css">\n</head>\n'
            f"<body>\n<h1>{title}</h1>\n<p>{word}</p>\n</body>\n</html>\n"
        )
        style = b"body { font-family: sans-serif; }\n"
        return [RepoFile(app_file or "index.html", page.encode()), RepoFile("style.css", style)]
    port = card.get("app_port") if isinstance(card.get("app_port"), int) else 7860
    docker = f'FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nEXPOSE {port}\n'
    docker += 'CMD ["npm", "start"]\n'
    return [RepoFile("Dockerfile", docker.encode())]


def _space(rng: random.Random, repo_id: str, readme: bytes, card_data: dict[str, Any] | None, stage: str) -> Repo:
    sdk = card_sdk(card_data, readme)
    title = (card_data or {}).get("title")
    title = title if isinstance(title, str) else repo_id.rsplit("/", 1)[-1]
    files = [RepoFile(".gitattributes", DEFAULT_GITATTRIBUTES.encode()), RepoFile("README.md", readme)]
    files += app_files(sdk, card_data, title, rng)
    card_tags = (card_data or {}).get("tags")
    tags = [sdk, *(t for t in card_tags if isinstance(t, str))] if isinstance(card_tags, list) else [sdk]
    created = _EPOCH + dt.timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86399))
    return Repo(
        "space",
        repo_id,
        files,
        trending_score=rng.randint(0, 40),
        likes=rng.randint(0, 500),
        tags=list(dict.fromkeys([*tags, "region:us"])),
        sdk=sdk,
        card_data=card_data,
        stage="RUNNING" if sdk == "static" else stage,
        created_at=created,
        last_modified=created + dt.timedelta(days=rng.randint(0, 100), seconds=rng.randint(0, 86399)),
    )


def real_space(rng: random.Random, i: int, repo_id: str, readme: bytes) -> Repo:
    """A Space around a real README; every 7th slot (``i % 7 == 4``) is asleep (unless static)."""
    return _space(rng, repo_id, readme, card_data_from_readme(readme), "SLEEPING" if i % 7 == 4 else "RUNNING")


def demo_space(
    repo_id: str,
    models: Sequence[str],
    *,
    datasets: Sequence[str] = (),
    sdk: str | None = None,
    seed: int | str = 0,
) -> Repo:
    """A gradio (or streamlit) Space whose card's ``models``/``datasets`` name the given repos."""
    rng = random.Random(f"demo-space:{seed}:{repo_id}")
    sdk = sdk or rng.choice(["gradio", "streamlit"])
    title = f"Demo {repo_id.rsplit('/', 1)[-1]}"
    lines = [
        f"title: {title}", f"emoji: {rng.choice(['🚀', '🤗', '🔥', '📈'])}",
        f"colorFrom: {rng.choice(_COLORS)}", f"colorTo: {rng.choice(_COLORS)}", f"sdk: {sdk}",
    ]
    if sdk in SDK_VERSIONS:
        lines.append(f"sdk_version: {SDK_VERSIONS[sdk]}")
    lines += ["app_file: app.py" if sdk in ("gradio", "streamlit") else "", "pinned: false", "license: apache-2.0"]
    for key, ids in (("models", models), ("datasets", datasets)):
        if ids:
            lines += [f"{key}:", *(f"- {i}" for i in ids)]
    lines.append("short_description: Try the models in the browser")
    readme = ("---\n" + "\n".join(x for x in lines if x) + f"\n---\n\n# {title}\n\nA demo.\n").encode()
    return _space(rng, repo_id, readme, card_data_from_readme(readme), "RUNNING")


def runtime(repo: Repo, subdomain: str) -> dict[str, Any]:
    """The Space's ``runtime`` object (space info and listings)."""
    replicas: dict[str, int] = {"requested": 1}
    if repo.sdk == "static":
        return {"stage": repo.stage, "hardware": {"current": None, "requested": None}, "storage": None,
                "replicas": {"requested": 1, "current": 1}}
    running = repo.stage == "RUNNING"
    if running:
        replicas["current"] = 1
    return {
        "stage": repo.stage,
        "hardware": {"current": "cpu-basic" if running else None, "requested": "cpu-basic"},
        "storage": None,
        "gcTimeout": 172800,
        "replicas": replicas,
        "devMode": False,
        "domains": [{"domain": f"{subdomain}.hf.space", "stage": "READY"}],
    }
