"""The distributions ``GeneratedHub`` draws from, each with where it was taken from.

``../shared/data`` (``D:`` below) gives the card fields: the value counts of the 159 model cards,
111 dataset cards and 38 Space cards with front matter (``test_hub_generated.py`` recounts them
and checks the tables here still agree). It holds 4 recorded model infos, no listing and no
dataset info, so the Hub-wide mixes (pipeline tags, libraries, private/gated shares, sdk shares
today, runtime stages) are approximations of the facets hf.co shows (``H:`` below), not
measurements. The recorded infos give the shapes and the values of the four ``RECORDED`` models.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Table(Generic[T]):
    """Values with weights; ``pick(u)`` maps a uniform ``u`` in [0, 1) to one of them."""

    def __init__(self, weighted: Sequence[tuple[T, float]]) -> None:
        self.values = [v for v, _ in weighted]
        self._cum = list(itertools.accumulate(w for _, w in weighted))

    def pick(self, u: float) -> T:
        return self.values[min(bisect.bisect_right(self._cum, u * self._cum[-1]), len(self.values) - 1)]


def _ts(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


#: The Hub moved every older repo in at once: their ``createdAt`` is one of these two seconds
#: (the recorded bert-base-uncased: 23:29:04, roberta-base-squad2 and paraphrase-albert: 23:29:05).
LEGACY_CREATED = (_ts("2022-03-02T23:29:04Z"), _ts("2022-03-02T23:29:05Z"))
#: The generated Hub's "now" before any mutation: every date is at or before it.
GENERATED_AT = _ts("2025-03-07T00:00:00Z")

# -- models (H: hf.co/models task and library facets, approximate) -------------------------------
# (pipeline_tag, library, model_type, architecture, name stems, weight); None: no pipeline tag.
INDEPENDENT: Table[tuple[Any, ...]] = Table([
    (("text-generation", "transformers", "llama", "LlamaForCausalLM", ("tiny-llama", "llm", "chat")), 0.10),
    (("text-generation", "transformers", "gpt2", "GPT2LMHeadModel", ("gpt2", "distilgpt2")), 0.06),
    (("text-generation", "transformers", "qwen2", "Qwen2ForCausalLM", ("qwen-sft", "qwen-math")), 0.04),
    (("text-classification", "transformers", "distilbert", "DistilBertForSequenceClassification",
      ("distilbert-sentiment", "emotion-classifier")), 0.06),
    (("text-classification", "transformers", "deberta-v2", "DebertaV2ForSequenceClassification",
      ("deberta-v3-nli", "toxicity")), 0.03),
    (("reinforcement-learning", "stable-baselines3", None, None, ("ppo-LunarLander-v2", "dqn-SpaceInvaders")), 0.04),
    (("reinforcement-learning", "ml-agents", None, None, ("ppo-Huggy", "poca-SoccerTwos")), 0.015),
    (("automatic-speech-recognition", "transformers", "wav2vec2", "Wav2Vec2ForCTC", ("wav2vec2-asr",)), 0.025),
    (("token-classification", "transformers", "bert", "BertForTokenClassification", ("ner", "pos-tagger")), 0.025),
    (("image-classification", "transformers", "vit", "ViTForImageClassification", ("vit-food", "vit-cats")), 0.02),
    (("image-classification", "timm", None, None, ("convnext-tiny", "resnet50-plants")), 0.01),
    (("text-to-image", "diffusers", None, None, ("dreambooth", "anime-diffusion")), 0.02),
    (("sentence-similarity", "sentence-transformers", "bert", "BertModel", ("embeddings", "bge-ft")), 0.02),
    (("feature-extraction", "transformers", "xlm-roberta", "XLMRobertaModel", ("encoder",)), 0.015),
    (("fill-mask", "transformers", "roberta", "RobertaForMaskedLM", ("roberta-mlm",)), 0.015),
    (("text2text-generation", "transformers", "t5", "T5ForConditionalGeneration", ("t5-small-qg", "flan-t5")), 0.025),
    (("translation", "transformers", "marian", "MarianMTModel", ("opus-mt",)), 0.015),
    (("question-answering", "transformers", "roberta", "RobertaForQuestionAnswering", ("squad-qa",)), 0.01),
    (("summarization", "transformers", "bart", "BartForConditionalGeneration", ("bart-summarizer",)), 0.008),
    (("image-text-to-text", "transformers", "qwen2_vl", "Qwen2VLForConditionalGeneration", ("vlm",)), 0.01),
    (("object-detection", "transformers", "detr", "DetrForObjectDetection", ("detr-finetuned",)), 0.007),
    (("audio-classification", "transformers", "wav2vec2", "Wav2Vec2ForSequenceClassification", ("audio-clf",)), 0.004),
    (("text-to-speech", "transformers", "vits", "VitsModel", ("tts",)), 0.004),
    (("image-segmentation", "transformers", "segformer", "SegformerForSemanticSegmentation", ("segformer",)), 0.004),
    ((None, None, None, None, ("checkpoint", "test-model", "my-model")), 0.20),
    ((None, "keras", None, None, ("keras-model",)), 0.01),
    ((None, "pytorch", None, None, ("pytorch-model",)), 0.01),
])
#: P(card has the field), D: 65 of 159 model cards give a license, 133 a language, 56 datasets.
MODEL_CARD_P = {"card": 0.8, "license": 0.41, "language": 0.35, "datasets": 0.25, "tags": 0.2}
#: D: the model cards' ``license`` values (old spellings included: the Hub still serves them).
MODEL_LICENSES = Table([
    ("apache-2.0", 24 + 60), ("mit", 28 + 20), ("other", 10), ("cc-by-nc-4.0", 6), ("cc-by-4.0", 5),
    ("openrail", 4), ("creativeml-openrail-m", 4), ("llama3.1", 3), ("gpl-3.0", 2), ("afl-3.0", 2),
    ("MIT", 6), ("Apache 2.0", 3), ("Apache-2.0", 2),
])
#: D: the model cards' ``language`` values (codes and words as written), plus "en" for the Hub's
#: English majority (H).
MODEL_LANGUAGES = Table([
    ("en", 25 + 60), ("ar", 8), ("english", 8), ("fr", 6), ("de", 5), ("chinese", 5), ("ms", 5), ("zh", 4 + 6),
    ("hi", 4), ("es", 4), ("multilingual", 3), ("russian", 3), ("code", 3), ("malay", 3), ("Korean", 3),
    ("it", 3), ("polish", 2), ("ja", 3), ("ko", 2), ("ru", 3), ("tr", 2), ("ur", 2), ("vi", 2), ("pt", 2),
])
#: D: the model cards' ``datasets`` values that are Hub ids (URLs and prose dropped).
MODEL_DATASETS = Table([
    ("wikipedia", 13), ("squad", 6), ("squad_v2", 4), ("multi_nli", 3), ("mnli", 3), ("xtreme", 2), ("snli", 2),
    ("SNLI", 2), ("MultiNLI", 2), ("wmt19", 1), ("msmarco", 1), ("pubmed", 1), ("bookcorpus", 1), ("gigaword", 1),
])
#: D: the model cards' own ``tags``.
MODEL_CARD_TAGS = Table([
    ("exbert", 8), ("pytorch", 6), ("translation", 5), ("question-generation", 5), ("gpt2", 3), ("masked-lm", 3),
    ("text-classification", 3), ("bert", 3), ("sentiment", 2), ("roberta", 2), ("trl", 4), ("sft", 4),
    ("generated_from_trainer", 10), ("unsloth", 3),
])
PRIVATE_P = {"model": 0.03, "dataset": 0.04, "space": 0.03}  # H: only a token's owner sees them listed
GATED_P = {"model": 0.015, "dataset": 0.03, "space": 0.0}  # H; Spaces are never gated
DISABLED_P = 0.0005
DERIVATIVE_P = 0.45  # H: models with a base_model (the Hub's model tree)
#: P(a derivative names another generated model, not one of the popular bases): chains of lineage.
SECOND_LEVEL_P = 0.25

# -- lineage: the popular bases and their derivatives (H) -----------------------------------------
RELATIONS = ("finetune", "adapter", "quantized", "merge")
#: Relation mix of the derivatives, per family of the base.
FAMILY_RELATIONS = {
    "llm": Table([("quantized", 0.38), ("finetune", 0.30), ("adapter", 0.25), ("merge", 0.07)]),
    "diffusion": Table([("adapter", 0.80), ("finetune", 0.17), ("merge", 0.03)]),
    "encoder": Table([("finetune", 0.90), ("quantized", 0.05), ("adapter", 0.05)]),
    "speech": Table([("finetune", 0.90), ("quantized", 0.05), ("adapter", 0.05)]),
}
#: How a quantization is packaged (name suffix, tag, library, card quant tag) and how often.
QUANT_KINDS = Table([
    (("GGUF", "gguf", None), 0.62), (("i1-GGUF", "gguf", None), 0.08), (("AWQ", "awq", "transformers"), 0.06),
    (("GPTQ-Int4", "gptq", "transformers"), 0.06), (("4bit", "mlx", "mlx"), 0.10), (("bnb-4bit", "4-bit", "transformers"), 0.08),
])
#: Who uploads quantizations: a few heavy uploaders own most of them (H: the Hub's top authors).
QUANTIZERS = Table([
    ("mradermacher", 0.30), ("bartowski", 0.12), ("RichardErkhov", 0.10), ("QuantFactory", 0.08),
    ("mlx-community", 0.08), ("lmstudio-community", 0.05), ("unsloth", 0.05), ("second-state", 0.03),
    ("MaziyarPanahi", 0.03), ("TheBloke", 0.04),
])
TOPICS = (
    "math", "code", "medical", "legal", "finance", "roleplay", "chat", "japanese", "korean", "german", "arabic",
    "reasoning", "summarize", "sql", "function-calling", "instruct", "dpo", "orpo", "sft", "uncensored",
    "imdb", "sst2", "ner", "squad", "emotion", "anime", "pixel-art", "watercolor", "portrait", "logo",
)


@dataclass(frozen=True)
class Fixed:
    """A model the generated Hub always hosts: the popular bases, and the four recorded infos."""

    id: str
    family: str
    pipeline_tag: str | None
    library_name: str | None
    model_type: str | None
    arch: str | None
    license: str
    created: str
    modified: str
    likes: int
    downloads: int
    trending: int
    params: dict[str, int] = field(default_factory=dict)
    weight: float = 0.0  # share of the derivatives naming it as their base
    gated: Any = False
    base: str | None = None  # its own base (an instruct model's pretrained one)
    used_storage: int = 0
    tags: tuple[str, ...] = ()  # the stored tags, when recorded
    card: dict[str, Any] | None = None  # when recorded
    sha: str | None = None
    object_id: str | None = None
    paths: tuple[str, ...] = ()  # when recorded
    config: dict[str, Any] | None = None
    inference: str | None = None
    legacy_id: str | None = None  # the id it had before the Hub moved it (answers 307)


_CHAT = ("conversational",)
FIXED: tuple[Fixed, ...] = (
    Fixed("meta-llama/Llama-3.1-8B-Instruct", "llm", "text-generation", "transformers", "llama", "LlamaForCausalLM",
          "llama3.1", "2024-07-18T08:56:00Z", "2024-09-25T17:00:57Z", 3512, 5_213_077, 118,
          {"BF16": 8_030_261_248}, 0.22, "manual", "meta-llama/Llama-3.1-8B", 32_121_078_752),
    Fixed("meta-llama/Llama-3.1-8B", "llm", "text-generation", "transformers", "llama", "LlamaForCausalLM",
          "llama3.1", "2024-07-14T22:20:15Z", "2024-10-16T22:00:37Z", 1288, 1_067_423, 21,
          {"BF16": 8_030_261_248}, 0.07, "manual", None, 32_121_078_752),
    Fixed("Qwen/Qwen2.5-7B-Instruct", "llm", "text-generation", "transformers", "qwen2", "Qwen2ForCausalLM",
          "apache-2.0", "2024-09-16T11:55:40Z", "2025-01-12T02:10:10Z", 584, 2_115_062, 62,
          {"BF16": 7_615_616_512}, 0.16, False, "Qwen/Qwen2.5-7B", 15_231_271_864),
    Fixed("Qwen/Qwen2.5-7B", "llm", "text-generation", "transformers", "qwen2", "Qwen2ForCausalLM",
          "apache-2.0", "2024-09-15T12:17:40Z", "2024-09-25T12:32:50Z", 142, 611_020, 9,
          {"BF16": 7_615_616_512}, 0.04, False, None, 15_231_271_864),
    Fixed("mistralai/Mistral-7B-Instruct-v0.3", "llm", "text-generation", "transformers", "mistral",
          "MistralForCausalLM", "apache-2.0", "2024-05-22T09:57:04Z", "2024-08-21T12:14:35Z", 1389, 1_520_934, 33,
          {"BF16": 7_248_023_552}, 0.10, "auto", None, 43_496_000_000),
    Fixed("google/gemma-2-9b-it", "llm", "text-generation", "transformers", "gemma2", "Gemma2ForCausalLM",
          "gemma", "2024-06-24T08:05:41Z", "2024-08-27T19:41:49Z", 659, 231_000, 14,
          {"F32": 9_241_705_984}, 0.06, "auto", None, 36_972_881_488),
    Fixed("stabilityai/stable-diffusion-xl-base-1.0", "diffusion", "text-to-image", "diffusers", None, None,
          "openrail++", "2023-07-25T13:25:51Z", "2023-10-30T16:03:47Z", 6210, 2_050_000, 45,
          {}, 0.12, False, None, 77_435_510_000, config={"diffusers": {"_class_name": "StableDiffusionXLPipeline"}}),
    Fixed("openai/whisper-large-v3", "speech", "automatic-speech-recognition", "transformers", "whisper",
          "WhisperForConditionalGeneration", "apache-2.0", "2023-11-07T18:41:14Z", "2024-08-12T10:20:10Z",
          4302, 4_480_000, 51, {"F16": 1_543_490_560}, 0.04, False, None, 21_545_000_000),
    Fixed("FacebookAI/roberta-base", "encoder", "fill-mask", "transformers", "roberta", "RobertaForMaskedLM",
          "mit", "2022-03-02T23:29:04Z", "2024-02-19T12:39:28Z", 462, 9_680_000, 6, {"F32": 124_697_433}, 0.04,
          legacy_id="roberta-base", used_storage=3_000_000_000),
    Fixed("sentence-transformers/all-MiniLM-L6-v2", "encoder", "sentence-similarity", "sentence-transformers",
          "bert", "BertModel", "apache-2.0", "2022-03-02T23:29:05Z", "2024-11-01T10:26:30Z", 3985, 92_846_157, 61,
          {"F32": 22_713_216}, 0.04, used_storage=2_100_000_000, tags=(
              "sentence-transformers", "pytorch", "tf", "rust", "onnx", "safetensors", "openvino", "bert",
              "feature-extraction", "sentence-similarity", "transformers", "en", "dataset:s2orc",
              "dataset:ms_marco", "arxiv:1904.06472", "license:apache-2.0", "autotrain_compatible",
              "text-embeddings-inference", "endpoints_compatible", "region:us")),
)
#: The recorded model infos of ``shared/data/hub_api`` become fixed models with those values.
RECORDED = {
    "google-bert/bert-base-uncased": ("encoder", 0.08, "bert-base-uncased"),
    "deepset/roberta-base-squad2": ("encoder", 0.005, None),
    "sentence-transformers/paraphrase-albert-small-v2": ("encoder", 0.005, None),
    "stabilityai/stable-diffusion-2-1": ("diffusion", 0.02, None),
}

# -- datasets (D: the dataset cards' value counts; H where marked) --------------------------------
DATASET_CARD_P = {"card": 0.75, "classic": 0.3, "language": 0.6, "citation": 0.1, "paperswithcode_id": 0.03}
DATASET_LICENSES = Table([
    ("cc-by-4.0", 20), ("unknown", 18), ("other", 12), ("mit", 8 + 20), ("cc-by-sa-4.0", 8), ("cc-by-sa-3.0", 4),
    ("cc0-1.0", 3), ("cc-by-nc-4.0", 3), ("cc-by-nc-nd-4.0", 3), ("apache-2.0", 3 + 15), ("cc-by-3.0", 2),
    ("gpl-3.0", 2), ("cc-by-2.0", 2), ("odc-by", 1), ("ms-pl", 1), ("bsd-3-clause", 1), ("gfdl", 1),
])
DATASET_TASKS = Table([
    ("text-classification", 30), ("question-answering", 24), ("text-generation", 12 + 40), ("fill-mask", 12),
    ("token-classification", 10), ("translation", 9), ("automatic-speech-recognition", 7),
    ("image-classification", 7), ("summarization", 7), ("multiple-choice", 4), ("text-retrieval", 4),
    ("audio-classification", 3), ("object-detection", 3), ("text2text-generation", 2), ("image-to-text", 2),
    ("time-series-forecasting", 1), ("table-to-text", 1), ("visual-question-answering", 1),
    ("conditional-text-generation", 11), ("structure-prediction", 7), ("sequence-modeling", 4),
])
DATASET_TASK_IDS = Table([
    ("multi-class-classification", 16), ("language-modeling", 14), ("extractive-qa", 12),
    ("multiple-choice-qa", 11), ("masked-language-modeling", 10), ("natural-language-inference", 8),
    ("intent-classification", 8), ("topic-classification", 7), ("sentiment-classification", 7),
    ("open-domain-qa", 6), ("semantic-similarity-scoring", 6), ("named-entity-recognition", 5),
])
DATASET_SIZES = Table([
    ("n<1K", 19 + 60), ("1K<n<10K", 31 + 30), ("10K<n<100K", 59), ("100K<n<1M", 38), ("1M<n<10M", 12),
    ("10M<n<100M", 7), ("100M<n<1B", 2), ("1B<n<10B", 1), ("unknown", 5),
])
DATASET_LANGUAGES = Table([
    ("en", 75 + 36), ("de", 25), ("fr", 23), ("es", 22), ("ru", 21), ("tr", 21), ("zh", 20), ("ar", 20),
    ("it", 20), ("ja", 19), ("vi", 18), ("nl", 18), ("id", 17), ("pt", 17), ("ta", 17), ("bn", 16), ("hi", 16),
    ("ko", 8), ("pl", 16), ("th", 15),
])
MULTILINGUALITY = Table([("monolingual", 72), ("multilingual", 30), ("translation", 8)])
ANNOTATIONS = Table([
    ("expert-generated", 42), ("crowdsourced", 25), ("no-annotation", 19), ("found", 17),
    ("machine-generated", 9), ("other", 4),
])
DATASET_FORMATS = Table([("parquet", 0.8), ("json", 0.12), ("csv", 0.08)])  # H
DATASET_STEMS = (
    "instruct", "sft-mix", "preference", "qa", "reviews", "news", "dialogues", "captions", "images", "speech",
    "math-problems", "code-snippets", "medical-qa", "legal-docs", "translations", "eval", "benchmark", "corpus",
)

# -- spaces (D: the Space cards' value counts; H where marked) ------------------------------------
#: H: gradio/docker/static/streamlit today; D's sample (gradio 22, static 11, docker 3, streamlit 2)
#: is mostly the ``evaluate`` metric Spaces, so it under-counts docker.
SPACE_SDKS = Table([("gradio", 0.55), ("docker", 0.20), ("static", 0.15), ("streamlit", 0.10)])
#: H: most free Spaces sleep after 48 h without visits; many never built or crashed.
SPACE_STAGES = Table([
    ("SLEEPING", 0.45), ("RUNNING", 0.25), ("RUNTIME_ERROR", 0.14), ("BUILD_ERROR", 0.05), ("PAUSED", 0.05),
    ("NO_APP_FILE", 0.02), ("CONFIG_ERROR", 0.01), ("BUILDING", 0.02), ("STOPPED", 0.01),
])
SPACE_COLORS = Table([
    ("blue", 26), ("yellow", 4), ("green", 3), ("purple", 2), ("red", 2), ("gray", 1), ("indigo", 2), ("pink", 2),
])
SPACE_EMOJI = Table([
    ("🤗", 21), ("🔥", 2), ("📊", 1), ("🔎", 1), ("⚡", 1), ("🧩", 1), ("🐱", 1), ("📑", 1), ("🧠", 1), ("🤖", 1),
    ("🚀", 1), ("🦙", 1), ("🌙", 1),
])
#: D: ``sdk_version`` (3.19.1 x15, 3.0.2 x6, 4.19.2, 1.39.0), plus the 4.x/5.x of newer Spaces (H).
GRADIO_VERSIONS = Table([("3.19.1", 15), ("3.0.2", 6), ("4.19.2", 1), ("4.44.1", 10), ("5.9.1", 8), ("5.20.0", 5)])
STREAMLIT_VERSIONS = Table([("1.39.0", 1), ("1.28.0", 1), ("1.41.1", 1)])
SPACE_CARD_P = {"license": 0.31, "short_description": 0.26, "models": 0.4, "datasets": 0.15, "tags": 0.1}
SPACE_TAGS = Table([("evaluate", 21), ("metric", 15), ("comparison", 3), ("measurement", 3), ("leaderboard", 3)])
SPACE_STEMS = (
    "chat", "demo", "playground", "leaderboard", "arena", "image-generator", "pdf-qa", "voice-clone",
    "translator", "summarizer", "sentiment", "detector", "tts", "rag", "agent", "viewer", "explorer",
)
#: D: the model cards' authors head the Zipf of authors (the shared cards' 109 authors are real).
CARD_AUTHORS = (
    "Helsinki-NLP", "DeepPavlov", "allenai", "facebook", "google", "microsoft", "mrm8488", "huggingface",
    "sentence-transformers", "deepset", "flax-community", "uer", "nlpaueb", "dbmdz", "bionlp", "jplu",
    "Geotrend", "NeuML", "Cinnamon", "Musixmatch", "Hate-speech-CNERG", "MoseliMotsoehli", "Naveen-k",
    "asafaya", "aubmindlab", "cahya", "camembert", "clue", "cointegrated", "digitalepidemiologylab",
)
SYLLABLES = (
    "ka", "ri", "to", "ma", "ne", "lo", "su", "vi", "an", "el", "da", "mo", "re", "ta", "ni", "ko", "ya", "zu",
    "be", "li", "sa", "no", "ha", "mi", "ra", "jo", "ve", "ch", "ai", "ul",
)
