"""cards: every real card in ../shared/data, the edge cases its READMEs name, synthetic cards, properties."""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from hf_ipfs_scraper.cards import Card, CardFields, card_fields, parse_card
from tests.conftest import missing_component

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FOLDERS = ("model_cards", "dataset_cards", "space_cards")
NO_BLOCK = "a '---' line opens the text, but the Hub's rule finds no YAML block"
# The test's own YAML reading: libyaml where it is installed (another implementation, and 5x faster
# than PyYAML's pure-Python parser, which takes seconds on universal_morphologies' 1 MB card).
RAW_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# -- helpers --------------------------------------------------------------------------------
@functools.cache
def _cards(folder: str) -> dict[str, tuple[dict[str, str], bytes, Card]]:
    """``{id: (INDEX.tsv row, README bytes, parse_card of them)}`` for one folder of real cards."""
    index = DATA / folder / "INDEX.tsv"
    if not index.is_file():
        missing_component(f"real cards not found: {index} (the shared test data)")
    with open(index, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    cards = {}
    for row in rows:
        raw = (index.parent / row["path"]).read_bytes()
        cards[next(iter(row.values()))] = (row, raw, parse_card(raw))
    return cards


def _card(folder: str, name: str) -> tuple[str, Card]:
    """A real card's text (decoded as the parser does) and its parse."""
    _, raw, card = _cards(folder)[name]
    return raw.decode("utf-8", "replace").removeprefix("\ufeff"), card


def _is_json(value: Any) -> bool:
    """Strict JSON: str keys, finite floats, no tuples, dates or sets."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int))


def _assert_types(card: Card) -> None:
    """The card and its fields hold exactly the declared types."""
    assert isinstance(card, Card) and isinstance(card.body, str)
    assert isinstance(card.data, dict) and _is_json(card.data)
    assert card.problem is None or (isinstance(card.problem, str) and card.problem)
    _assert_field_types(card_fields(card.data))


def _assert_field_types(fields: CardFields) -> None:
    for f in dataclasses.fields(CardFields):
        value = getattr(fields, f.name)
        if f.type == "tuple[str, ...]":
            assert isinstance(value, tuple) and len(set(value)) == len(value), (f.name, value)
            assert all(isinstance(s, str) and s and s == s.strip() for s in value), (f.name, value)
        elif f.type == "bool | None":
            assert value is None or isinstance(value, bool), (f.name, value)
        else:
            assert f.type == "str | None"
            assert value is None or (isinstance(value, str) and value and value == value.strip()), (f.name, value)


# -- every real card ------------------------------------------------------------------------
@pytest.mark.parametrize("folder", FOLDERS)
def test_every_real_card_parses_to_the_declared_types(folder: str) -> None:
    cards = _cards(folder)
    assert len(cards) == {"model_cards": 239, "dataset_cards": 154, "space_cards": 39}[folder]
    for name, (_, raw, card) in cards.items():
        _assert_types(card)
        if len(raw) > 50_000:  # seven big dataset cards: seconds each in pure-Python PyYAML
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        assert parse_card(text) == card, name  # str and bytes agree


# Which fields are found in how many cards of each folder (space numbers = the README's key counts;
# title is 37 because evaluate-metric/coval has an empty `title:`).
FOUND = {
    "model_cards": {
        "languages": 133, "licenses": 64, "datasets": 56, "tags": 52, "thumbnail": 30, "pipeline_tag": 3,
    },
    "dataset_cards": {
        "languages": 108, "task_categories": 105, "size_categories": 105, "source_datasets": 105,
        "licenses": 104, "pretty_name": 94, "task_ids": 91, "tags": 1,
    },
    "space_cards": {
        "emoji": 38, "color_from": 38, "color_to": 38, "sdk": 38, "pinned": 38, "title": 37, "app_file": 25,
        "sdk_version": 23, "tags": 21, "licenses": 12, "short_description": 10, "models": 9, "thumbnail": 9,
    },
}  # fmt: skip


@pytest.mark.parametrize("folder", FOLDERS)
def test_how_often_each_field_is_found(folder: str) -> None:
    found: Counter[str] = Counter()
    for _, _, card in _cards(folder).values():
        fields = card_fields(card.data)
        found.update(f.name for f in dataclasses.fields(CardFields) if getattr(fields, f.name) not in (None, ()))
    assert found == FOUND[folder]


# -- fields against the raw YAML, read independently ------------------------------------------
LIST_KEYS = {
    "license": "licenses", "licenses": "licenses", "language": "languages", "languages": "languages",
    "datasets": "datasets", "base_model": "base_models", "task_categories": "task_categories",
    "task_ids": "task_ids", "size_categories": "size_categories", "source_datasets": "source_datasets",
    "tags": "tags", "models": "models",
}  # fmt: skip
TEXT_KEYS = {
    "pretty_name": "pretty_name", "pipeline_tag": "pipeline_tag", "library_name": "library_name",
    "title": "title", "emoji": "emoji", "colorFrom": "color_from", "colorTo": "color_to", "sdk": "sdk",
    "sdk_version": "sdk_version", "app_file": "app_file", "short_description": "short_description",
    "thumbnail": "thumbnail",
}  # fmt: skip


def _usable(value: Any) -> list[str]:
    """The test's own reading of a raw YAML value: each non-blank string or number in it, in order."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _usable(v)]
    if isinstance(value, list):
        return [s for v in value for s in _usable(v)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value).strip()] if str(value).strip() else []


@pytest.mark.parametrize("folder", FOLDERS)
def test_fields_agree_with_the_raw_yaml(folder: str) -> None:
    checked: Counter[str] = Counter()
    for name, (_, raw, card) in _cards(folder).items():
        match = REGEX_YAML_BLOCK.search(raw.decode("utf-8", "replace").lstrip("\ufeff"))
        try:
            front = yaml.load(match.group(2), Loader=RAW_LOADER) if match else None
        except yaml.YAMLError:
            continue
        if not isinstance(front, dict):
            continue
        fields = card_fields(card.data)
        for key, value in front.items():
            usable = _usable(value)
            if key in ("language", "languages"):
                usable = [part.strip() for s in usable for part in s.split(",") if part.strip()]
            if key in LIST_KEYS and usable:
                got = getattr(fields, LIST_KEYS[key])
                assert got and set(usable) <= set(got), (name, key, value, got)
            elif key in TEXT_KEYS and usable:
                assert getattr(fields, TEXT_KEYS[key]) == usable[0], (name, key, value)
            elif key == "pinned" and isinstance(value, bool):
                assert fields.pinned is value, name
            else:
                continue
            checked[key] += 1
    expected = {
        "model_cards": {"license", "language", "datasets", "tags", "thumbnail", "pipeline_tag"},
        "dataset_cards": {"license", "licenses", "language", "languages", "task_categories", "task_ids",
                          "size_categories", "source_datasets", "pretty_name", "tags"},
        "space_cards": {"license", "title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file",
                        "pinned", "short_description", "thumbnail", "models", "tags"},
    }[folder]  # fmt: skip
    assert set(checked) == expected


# -- model cards ----------------------------------------------------------------------------
def test_model_cards_have_data_exactly_where_the_index_says() -> None:
    for name, (row, _, card) in _cards("model_cards").items():
        assert card.problem is None, name  # the README names no broken model card, and there is none
        assert bool(card.data) == (row["has_front_matter"] == "yes"), name


def test_model_card_front_matter_after_a_leading_blank_line() -> None:
    for name, languages in [
        ("allenai/wmt16-en-de-dist-6-1", ("en", "de")),  # `language: en, de`: split
        ("allenai/wmt19-de-en-6-6-base", ("de", "en")),
        ("facebook/wmt19-ru-en", ("ru", "en")),
    ]:
        _, card = _card("model_cards", name)
        assert card.problem is None and card.body.startswith("\n# FSMT\n"), name
        fields = card_fields(card.data)
        assert fields.languages == languages and fields.licenses == ("Apache 2.0",), name
        assert card.data["thumbnail"] is None and fields.thumbnail is None, name


def test_model_cards_of_front_matter_only() -> None:
    expected = {
        "facebook/bart-large-cnn": {
            "tags": ["summarization"], "license": "mit",
            "thumbnail": "https://huggingface.co/front/thumbnails/facebook.png",
        },
        "facebook/bart-large-mnli": {"license": "mit"},
        "mrm8488/gpt2-finetuned-recipes-cooking": {
            "language": "en", "thumbnail": None, "widget": [{"text": "HuggingFace Cake:"}],
        },
    }  # fmt: skip
    for name, data in expected.items():
        assert _card("model_cards", name)[1] == Card(data, ""), name


@pytest.mark.parametrize(
    "name",
    [
        "squeezebert/squeezebert-uncased",  # YAML with a closing `---` but no opening one
        "cimm-kzn/rudr-bert",  # `---` as a setext heading underline after the first line
        "deepset/bert-base-cased-squad2",  # only "Tải model"
        "google/bert_uncased_L-2_H-512_A-8",  # a git symlink: the text is its target path
    ],
)
def test_model_cards_without_front_matter_are_all_body(name: str) -> None:
    text, card = _card("model_cards", name)
    assert card == Card({}, text)
    assert card_fields(card.data) == CardFields()


def test_model_card_texts_without_front_matter() -> None:
    assert _card("model_cards", "deepset/bert-base-cased-squad2")[1].body == "Tải model\n"
    symlink = _card("model_cards", "google/bert_uncased_L-2_H-512_A-8")[1].body
    assert symlink == "../../iuliaturc/bert_uncased_L-2_H-128_A-2/README.md"
    assert "language: en\nlicense: bsd" in _card("model_cards", "squeezebert/squeezebert-uncased")[1].body


def test_model_card_with_two_yaml_blocks_uses_the_first() -> None:
    _, card = _card("model_cards", "huggingface/CodeBERTa-language-id")
    assert card.data == {
        "language": "code",
        "thumbnail": "https://hf-dinosaur.huggingface.co/CodeBERTa/CodeBERTa.png",
        "tags": ["test"],
        "datasets": ["aeslc", "bertscore"],
    }
    assert card.body.startswith('\n---\nlanguage: "ISO 639-1 code for your language, or `multilingual`"\n')


def test_model_card_language_values_are_kept_as_written() -> None:
    fields = card_fields(_card("model_cards", "rdenadai/BR_BERTo")[1].data)
    assert fields.languages == ("UTF-8",)  # not a language, but what the card says
    assert fields.tags == ("portuguese", "brazil", "pt_BR")
    words = card_fields(_card("model_cards", "nlptown/bert-base-multilingual-uncased-sentiment")[1].data)
    assert words.languages == ("english", "dutch", "german", "french", "italian", "spanish")


# -- dataset cards --------------------------------------------------------------------------
UNUSABLE = {  # problem prefix -> the dataset cards whose front matter is there but unused
    "invalid YAML: ": {
        "bible_para", "dyk", "qa4mre", "xed_en_fi", "xglue", "ethos", "medmcqa", "ncbi_disease", "superb",
        "wiki_auto",
    },
    "front matter is not a mapping (a str)": {"mutual_friends"},
    NO_BLOCK: {  # empty `---`/`---` block, `--- ` opening, `  ---`, `----` or glued closing
        "boolq", "cosmos_qa", "squad_v2", "trivia_qa", "wikitext", "social_bias_frames", "asset", "gsm8k",
        "cail2018",
    },
}  # fmt: skip
EMPTY_BLOCK = {"cbt", "ropes"}  # a block holding only a blank line: {} without a problem, as on the Hub
NO_FRONT_MATTER = {
    "csv", "json", "pandas", "text", "imagefolder", "audiofolder", "kilt_tasks", "xnli", "wili_2018", "gooaq",
    "disaster_response_messages", "tedlium", "sv-ident", "nsmc", "allocine", "roman_urdu",
    "code_x_glue_tc_nl_code_search_adv", "conceptnet5", "arabic_billion_words", "rvl_cdip", "crass",
}  # fmt: skip


def test_dataset_card_outcomes() -> None:
    outcomes: dict[str, set[str]] = {prefix: set() for prefix in UNUSABLE}
    empty, absent = set(), set()
    for name in _cards("dataset_cards"):
        text, card = _card("dataset_cards", name)
        if card.problem is not None:
            assert card.data == {}, name
            outcomes[next(p for p in UNUSABLE if card.problem.startswith(p))].add(name)
        elif not card.data:
            (empty if card.body != text else absent).add(name)
    assert outcomes == UNUSABLE
    assert empty == EMPTY_BLOCK and absent == NO_FRONT_MATTER
    assert len(_cards("dataset_cards")) - sum(map(len, [*UNUSABLE.values(), empty, absent])) == 111


def test_dataset_cards_invalid_yaml_problem_points_at_the_file_line() -> None:
    text, card = _card("dataset_cards", "xglue")
    assert card.problem == "invalid YAML: found character '\\t' that cannot start any token (line 60, column 1)"
    assert text.splitlines()[59] == "\t- vi"
    text, card = _card("dataset_cards", "qa4mre")  # `{}` followed by a key
    assert card.problem and card.problem.endswith("(line 3, column 1)")
    assert text.splitlines()[2] == "pretty_name: qa4mre"
    assert card.body.startswith("\n# Dataset Card")  # the body starts after the unusable block


def test_dataset_card_counts_match_the_readme() -> None:
    data = [card.data for _, _, card in _cards("dataset_cards").values()]
    assert sum(1 for row, _, _ in _cards("dataset_cards").values() if row["has_front_matter"] == "yes") == 129
    assert sum(1 for d in data if "language" in d or "license" in d) == 88
    assert sum(1 for d in data if "languages" in d or "licenses" in d) == 20
    tasks = Counter(t for d in data for t in card_fields(d).task_categories)
    assert len(tasks) == 25
    for task, n in {"text-classification": 28, "text-generation": 12, "fill-mask": 12, "translation": 9,
                    "automatic-speech-recognition": 7, "image-classification": 7, "summarization": 7}.items():  # fmt: skip
        assert tasks[task] == n, task


def test_dataset_card_with_a_bom() -> None:
    _, raw, card = _cards("dataset_cards")["eli5"]
    assert raw.startswith(b"\xef\xbb\xbf---\n")
    assert parse_card(raw.decode("utf-8")) == card  # a str with the BOM too
    assert not card.body.startswith("\ufeff") and card.body.startswith("\n# Dataset Card for ELI5\n")
    fields = card_fields(card.data)
    assert (fields.languages, fields.licenses) == (("en",), ("unknown",))
    assert fields.task_ids == ("abstractive-qa", "open-domain-qa")


def test_dataset_cards_with_crlf() -> None:
    _, card = _card("dataset_cards", "vivos")
    assert card.body.startswith("\r\n# Dataset Card for VIVOS\r\n")
    assert card_fields(card.data) == CardFields(
        licenses=("cc-by-nc-sa-4.0",),
        languages=("vi",),
        task_categories=("speech-processing",),
        task_ids=("automatic-speech-recognition",),
        size_categories=("10K<n<100K",),
        source_datasets=("original",),
        pretty_name="VIVOS",
    )
    for name in ("cnn_dailymail", "nell", "vivos"):
        data = _card("dataset_cards", name)[1].data
        assert data and "\r" not in repr(data), name
    assert _card("dataset_cards", "conceptnet5")[1].data == {}  # `--` opening line, CRLF


def test_dataset_cards_with_non_utf8_bytes() -> None:
    crass = _card("dataset_cards", "crass")[1]
    assert crass.data == {} and "J\ufffdrg" in crass.body
    newsqa = _card("dataset_cards", "newsqa")[1]
    assert "\ufffd" in newsqa.body
    assert card_fields(newsqa.data).size_categories == ("10K<n<100K", "100K<n<1M")  # per config
    assert _card("dataset_cards", "gooaq")[1] == Card({}, "")  # an empty file


def test_dataset_cards_with_per_config_values() -> None:
    fields = card_fields(_card("dataset_cards", "wmt20_mlqe_task1")[1].data)
    assert fields.languages == ("en", "de", "zh", "et", "ne", "ro", "si", "ru")
    paws = card_fields(_card("dataset_cards", "paws")[1].data)
    assert paws.size_categories == ("10K<n<100K", "100K<n<1M") and paws.licenses == ("other",)
    ud = _card("dataset_cards", "universal_dependencies")[1]
    assert ud.data["languages"]["no_bokmaal"] == [False]  # a bare `no`: YAML 1.1 reads false
    languages = card_fields(ud.data).languages
    assert len(languages) == 103 and languages[:3] == ("af", "akk", "aqz") and "False" not in languages


def test_dataset_card_details() -> None:
    multi_news = _card("dataset_cards", "multi_news")[1]  # `task_categories` twice: the last wins
    assert card_fields(multi_news.data).task_categories == ("summarization",)
    ag_news = _card("dataset_cards", "ag_news")[1].data["dataset_info"]  # class_label with integer keys
    assert ag_news["features"][1]["dtype"]["class_label"]["names"] == {
        "0": "World", "1": "Sports", "2": "Business", "3": "Sci/Tech",
    }  # fmt: skip
    assert _card("dataset_cards", "lm1b")[1].data == {"pretty_name": "Lm1b", "paperswithcode_id": "billion-word-benchmark"}
    assert card_fields(_card("dataset_cards", "sunbird")[1].data) == CardFields()  # only a placeholder key


# -- Space cards ----------------------------------------------------------------------------
def test_space_card_fields() -> None:
    llama = card_fields(_card("space_cards", "webml-community/llama-3.2-webgpu")[1].data)
    assert llama == CardFields(
        licenses=("apache-2.0",),
        title="Llama 3.2 WebGPU",
        emoji="🦙",
        color_from="green",
        color_to="pink",
        sdk="static",
        pinned=False,
        short_description="A powerful AI chatbot that runs locally in your browser",
        thumbnail="https://huggingface.co/spaces/webml-community/llama-3.2-webgpu/resolve/main/banner.png",
        models=("onnx-community/Llama-3.2-1B-Instruct-q4f16",),
    )
    admin = _card("space_cards", "datasets-maintainers/dataset-viewer-admin-ui")[1]
    assert card_fields(admin.data) == CardFields(
        title="Dataset viewer admin UI", emoji="📊", color_from="gray", color_to="purple", sdk="gradio",
        sdk_version="4.19.2", app_file="app.py", pinned=False,
    )  # fmt: skip
    assert admin.data["python_version"] == "3.14.5" and admin.body.startswith("\n## Datasets-server Admin UI")


def test_space_cards_edge_cases() -> None:
    template = _card("space_cards", "templates/{{ cookiecutter.module_slug }}")[1]  # `{{ ... }}` placeholders
    assert template.data == {} and template.problem == "invalid YAML: found unhashable key (line 2, column 9)"
    assert template.body.startswith("\n# {{ cookiecutter.module_type|capitalize }} Card")
    image = card_fields(_card("space_cards", "third_party/image_template/streamlit")[1].data)
    assert image.emoji == "ðŸ“ˆ"  # mis-encoded upstream, kept as written
    assert card_fields(_card("space_cards", "evaluate-metric/coval")[1].data).title is None  # `title: `
    description = _card("space_cards", "evaluate-metric/accuracy")[1].data["description"]  # `>-` folded
    assert description.startswith("Accuracy is the proportion") and "\n" not in description


def test_space_card_counts_match_the_readme() -> None:
    fields = [card_fields(card.data) for _, _, card in _cards("space_cards").values()]
    assert Counter(f.sdk for f in fields if f.sdk) == {"gradio": 22, "static": 11, "docker": 3, "streamlit": 2}
    assert {f.sdk_version for f in fields if f.sdk_version} == {"3.19.1", "3.0.2", "4.19.2", "1.39.0"}
    assert Counter(lic for f in fields for lic in f.licenses) == {"apache-2.0": 11, "mit": 1}
    assert {f.pinned for f in fields if f.pinned is not None} == {False}
    assert sum(1 for f in fields if f.emoji == "🤗") == 21


# -- synthetic cards ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "data", "body", "problem"),
    [
        ("# Title\n", {}, "# Title\n", None),  # no front matter
        ("", {}, "", None),
        ("---\n\n---\nbody", {}, "body", None),  # empty block: {}, as on the Hub
        ("---\n---\nbody", {}, "---\n---\nbody", NO_BLOCK),  # no line between: the Hub finds no block
        ("---\n- a\n- b\n---\nbody", {}, "body", "front matter is not a mapping (a list)"),
        ("---\n42\n---\n", {}, "", "front matter is not a mapping (a int)"),
        ("---\nlicense: [mit\n---\nbody", {}, "body", "invalid YAML: "),
        ("---\r\nlicense: mit\r\n---\r\n# T\r\n", {"license": "mit"}, "# T\r\n", None),  # CRLF
        ("\ufeff---\nlicense: mit\n---\n# T", {"license": "mit"}, "# T", None),  # BOM
        ("\n\n---\na: 1\n---\n", {"a": 1}, "", None),  # leading blank lines
        ("---\na: 1\n---", {"a": 1}, "", None),  # closing at the very end
        ("---\na: 1\n--- \t\nbody", {"a": 1}, "body", None),  # blanks after the closing `---`
        ("---\na: 1\n---\nb: 2\n---\n", {"a": 1}, "b: 2\n---\n", None),  # only the first block
        ("text\n---\na: 1\n---\n", {}, "text\n---\na: 1\n---\n", None),  # not at the start
        ("---", {}, "---", NO_BLOCK),  # bare `---`
        ("---\nlicense: mit\n", {}, "---\nlicense: mit\n", NO_BLOCK),  # no closing `---`
        ("--- \na: 1\n---\n", {}, "--- \na: 1\n---\n", NO_BLOCK),  # blank after the opening `---`
        ("---\na: 1\n----\n", {}, "---\na: 1\n----\n", NO_BLOCK),
        ("---\na: 1\n  ---\n", {}, "---\na: 1\n  ---\n", NO_BLOCK),
    ],
)
def test_synthetic_cards(text: str, data: dict[str, Any], body: str, problem: str | None) -> None:
    card = parse_card(text)
    assert (card.data, card.body) == (data, body)
    if problem in (None, NO_BLOCK):
        assert card.problem == problem
    else:
        assert card.problem is not None and card.problem.startswith(problem), card.problem
    assert parse_card(text.encode("utf-8")) == card and hash(card) == hash(parse_card(text))


def test_bytes_are_utf8_with_bad_bytes_replaced() -> None:
    card = parse_card(b"---\nlicense: mit\n---\ncaf\xe9 \xff")
    assert card == Card({"license": "mit"}, "caf\ufffd \ufffd")
    assert parse_card(bytearray(b"\xef\xbb\xbf# T")) == Card({}, "# T")
    assert parse_card(b"---\ntitle: caf\xe9\n---\n").data == {"title": "caf\ufffd"}


def test_non_json_scalars_become_json() -> None:
    card = parse_card(
        "---\n"
        "date: 2022-01-02\n"
        "when: 2001-12-14 21:59:43.10 -5\n"
        "0: int key\n1.5: float key\ntrue: bool key\n~: null key\n2020-01-01: date key\n"
        "nan: .nan\ninf: -.inf\n"
        "set: !!set {b, a}\n"
        "binary: !!binary aGk=\n"
        "omap: !!omap [x: 1, y: 2]\n"
        "---\n"
    )
    assert card.problem is None
    assert card.data == {
        "date": "2022-01-02",
        "when": "2001-12-14T21:59:43.100000-05:00",
        "0": "int key", "1.5": "float key", "true": "bool key", "null": "null key", "2020-01-01": "date key",
        "nan": "nan", "inf": "-inf",
        "set": ["a", "b"],
        "binary": "aGk=",
        "omap": [["x", 1], ["y", 2]],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("date: 2022-13-45", "invalid YAML: month must be in 1..12"),  # PyYAML raises ValueError
        pytest.param("a: " + "[" * 2000, "invalid YAML: ", id="too-deep"),  # RecursionError in PyYAML
        ("a: &a [*a]", "front matter too large: "),  # a cycle
        pytest.param(
            'a: &a ["x","x","x","x","x","x","x","x","x"]\n'  # 9**9 values from 300 bytes
            + "".join(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
            "front matter too large: ",
            id="billion-laughs",
        ),
        ("x: !!python/object:os.system ls", "invalid YAML: could not determine a constructor"),
        ("a: 1\n\x00", "invalid YAML: unacceptable character #x0000"),
    ],
)
def test_unusable_yaml_is_a_problem_not_an_exception(yaml_text: str, problem: str) -> None:
    card = parse_card(f"---\n{yaml_text}\n---\nbody")
    assert card.data == {} and card.body == "body"
    assert card.problem is not None and card.problem.startswith(problem), card.problem


def test_invalid_yaml_problem_gives_the_line_in_the_file() -> None:
    card = parse_card("\n\n---\nlicense: mit\nlanguage: [en\n---\n")
    assert card.problem is not None and card.problem.endswith("(line 5, column 14)")  # the end of `[en`


# -- card_fields ----------------------------------------------------------------------------
def test_card_fields_converts_wrong_types() -> None:
    fields = card_fields({"pinned": "false", "sdk_version": 3.1, "language": [1, "en", None]})
    assert (fields.pinned, fields.sdk_version, fields.languages) == (False, "3.1", ("1", "en"))
    fields = card_fields(
        {
            "license": "mit", "licenses": ["mit", " apache-2.0 ", ""],  # merged, stripped, de-duplicated
            "datasets": "squad",  # a str where a list is expected
            "base_model": ["a/b", ["c/d"]], "base_model_relation": " Adapter ",
            "size_categories": {"cfg1": ["1K<n<10K"], "cfg2": ["10K<n<100K", "1K<n<10K"]},  # per config
            "tags": [True, 3, {"x": [None, "t"]}], "models": None, "task_ids": 7,
            "pretty_name": ["SV-Ident"], "title": 2024, "emoji": "  ", "sdk": {"cfg": "gradio"},
            "thumbnail": False, "colorFrom": ["", "red"],
        }
    )  # fmt: skip
    assert fields == CardFields(
        licenses=("mit", "apache-2.0"),
        datasets=("squad",),
        base_models=("a/b", "c/d"),
        base_model_relation="adapter",
        size_categories=("1K<n<10K", "10K<n<100K"),
        tags=("3", "t"),
        task_ids=("7",),
        pretty_name="SV-Ident",
        title="2024",
        sdk="gradio",
        color_from="red",
    )


def test_card_fields_languages_and_licenses() -> None:
    fields = card_fields({"language": "en, de", "languages": {"c": ["de", "fr"]}, "license": "a, b"})
    assert fields.languages == ("en", "de", "fr")  # comma lists split; language codes hold no commas
    assert fields.licenses == ("a, b",)  # only languages are split
    assert card_fields({"language": [False, "en"]}).languages == ("en",)  # a bare `no` is lost, not "False"
    custom = card_fields({"license": "other", "license_name": "my-license", "license_link": "LICENSE"})
    assert custom.licenses == ("other",)  # license_name stays in Card.data


@pytest.mark.parametrize(
    ("value", "pinned"),
    [(True, True), (False, False), ("false", False), (" Yes ", True), ("off", False), (1, True), (0, False),
     ("maybe", None), (None, None), (2, None), ([], None)],
)  # fmt: skip
def test_card_fields_pinned(value: Any, pinned: bool | None) -> None:
    assert card_fields({"pinned": value}).pinned is pinned


@pytest.mark.parametrize("relation", ["adapter", "merge", "quantized", "finetune"])
def test_card_fields_base_model_relation(relation: str) -> None:
    assert card_fields({"base_model_relation": relation}).base_model_relation == relation
    assert card_fields({"base_model_relation": relation + "s"}).base_model_relation is None


def test_card_fields_of_nothing() -> None:
    for data in (None, {}, "not a mapping", 42, ["license", "mit"]):
        assert card_fields(data) == CardFields()  # type: ignore[arg-type]
    deep: Any = "x"
    for _ in range(100_000):  # far deeper than any recursion limit
        deep = [deep]
    assert card_fields({"tags": deep}).tags == ("x",)


# -- properties -----------------------------------------------------------------------------
def _hypothesis() -> tuple[Any, Any]:
    try:
        import hypothesis
        from hypothesis import strategies
    except ImportError:
        missing_component("hypothesis is not installed: pip install hypothesis")
    return hypothesis, strategies


def test_parse_card_never_raises() -> None:
    hypothesis, st = _hypothesis()
    pieces = ["---", "\n", "\r\n", "\r", ": ", " ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!set ", "!!binary ",
              "a", "no", "2020-01-01", "1.5", ".nan", "'", '"', "\t", "\ufeff", "#", "? ", "|", ">-", "\x00", "é"]  # fmt: skip
    yamlish = st.lists(st.sampled_from(pieces), max_size=40).map("".join)
    texts = st.one_of(
        st.text(), st.binary(), yamlish, yamlish.map(lambda s: f"---\n{s}\n---\n"), yamlish.map(str.encode)
    )

    @hypothesis.settings(database=None, max_examples=500, deadline=None)
    @hypothesis.given(texts)
    def check(text: str | bytes) -> None:
        _assert_types(parse_card(text))

    check()


def test_card_fields_never_raises() -> None:
    hypothesis, st = _hypothesis()
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    values = st.recursive(
        scalars,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=4), kids, max_size=4),
        max_leaves=12,
    )
    keys = st.sampled_from([*LIST_KEYS, *TEXT_KEYS, "pinned", "base_model_relation"]) | st.text(max_size=6)
    data = st.dictionaries(keys, values, max_size=10) | scalars

    @hypothesis.settings(database=None, max_examples=300, deadline=None)
    @hypothesis.given(data)
    def check(front: Any) -> None:
        _assert_field_types(card_fields(front))

    check()


def test_the_fast_paths_read_as_the_general_one() -> None:
    """``_strings`` of one absent value or one text, and ``card_fields`` of no card, skip the general
    walk (a catalog walk reads millions of cards): they must answer what it answers."""
    from hf_ipfs_scraper.cards import _strings

    hypothesis, st = _hypothesis()
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.text(max_size=4), kids, max_size=4), max_leaves=8)

    @hypothesis.settings(database=None, max_examples=300, deadline=None)
    @hypothesis.given(values, st.sampled_from([None, ","]))
    def check(value: Any, sep: str | None) -> None:
        assert _strings(value, sep=sep) == _strings(value, None, sep=sep)  # two values: the general walk

    check()
    for empty in (None, {}, [], "text", 3):
        assert card_fields(empty) == card_fields({"not a card field": 1})  # type: ignore[arg-type]


def test_a_record_reads_its_card_once_and_keeps_it_out_of_its_metadata() -> None:
    from hf_ipfs_scraper.records import ModelRecord

    card = {"base_model": ["org/base"], "license": "MIT", "datasets": "org/data", "language": "en,de"}
    record = ModelRecord(id="org/m", card_data=card, _card_fields=card_fields(card))
    assert record.card == card_fields(card) and record.card.base_models == ("org/base",)
    assert ModelRecord(id="org/m", card_data=card).card == record.card  # made without it: read on demand
    metadata = record.metadata()
    assert "_card_fields" not in metadata and metadata["card_data"] == card
    again = ModelRecord.from_metadata(metadata)
    assert again == record and again.card == record.card
