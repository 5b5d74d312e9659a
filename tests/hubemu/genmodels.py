"""Generated models: what a model is (its traits), its card, tags, files and derived fields.

* Traits ``(pipeline, library, model_type, architecture, kind)``: a fixed model's own; an
  independent one's from its ``INDEPENDENT`` template; a derivative's from its base, except an
  encoder finetune, which picks its task head (``...ForSequenceClassification`` and so on).
* As uploaded: an adapter is ``peft`` (``diffusers`` for an SDXL LoRA), a quantization's library
  is its packaging's (``QUANT_KINDS``: GGUF has none, MLX ``mlx``...). Derivatives name their bases
  in ``cardData.base_model`` (a string, or a list 40 % of the time; 1.5 % a URL or a local path the
  Hub ignores), with ``base_model_relation`` for a third of the quantizations and adapters; the
  license is the root base's 85 % of the time.
* Files by kind (``_paths_for``): GGUF quantizations ``<stem>.<Q>.gguf`` (a few of eight quants),
  PEFT adapters ``adapter_config.json`` + ``adapter_model.safetensors``, diffusers pipelines their
  folders, transformers models ``config.json`` + weights (sharded above 2B parameters) +
  tokenizer files; ``config`` is what the Hub derives from config.json / model_index.json.
* ``safetensors`` / ``gguf`` / ``usedStorage``: the sizes of the model the entity stands for (the
  root base's parameters for an LLM derivative, log-normal around 120M otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import gentables as t
from .gencore import CORE, FAMILIES, PRESENTATION, QUIRK_PATH, QUIRK_URL, Rng, Store
from .genentity import Entity, as_list, common_fields, dedupe, log_normal, quant_kind, strings

if TYPE_CHECKING:
    from .generated import GeneratedHub


def model_entity(hub: GeneratedHub, i: int) -> Entity:
    store = hub.stores["model"]
    fixed = hub.fixed_spec("model", i)
    common = common_fields(hub, store, i)
    if fixed is not None:
        return _fixed_model(hub, fixed, i, common)
    return _generated_model(hub, store, i, common)


_ENCODER_HEADS = (
    ("text-classification", "ForSequenceClassification", 0.5), ("token-classification", "ForTokenClassification", 0.2),
    ("question-answering", "ForQuestionAnswering", 0.15), ("fill-mask", "ForMaskedLM", 0.15),
)
_HEADS = t.Table([((p, s), w) for p, s, w in _ENCODER_HEADS])


def _kind(library: str | None) -> str:
    if library == "diffusers":
        return "diffusers"
    if library in ("stable-baselines3", "ml-agents"):
        return "rl"
    if library in ("transformers", "sentence-transformers", "timm"):
        return library
    return "bare"


def model_traits(hub: GeneratedHub, i: int) -> tuple[Any, ...]:
    """(pipeline, library, model_type, arch, kind) of model ``i``, as its base has them (an encoder
    finetune picks its own task head); kept once drawn."""
    cache = hub.traits_cache
    got = cache.get(i)
    if got is not None:
        return got
    store = hub.stores["model"]
    fixed = hub.fixed_spec("model", i)
    if fixed is not None:
        out = (fixed.pipeline_tag, fixed.library_name, fixed.model_type, fixed.arch, _kind(fixed.library_name))
    elif store.base[i] < 0:
        pipeline, library, model_type, arch, _ = t.INDEPENDENT.values[store.template[i]]
        out = (pipeline, library, model_type, arch, _kind(library))
    else:
        pipeline, library, model_type, arch, kind = model_traits(hub, store.base[i])
        if FAMILIES[store.family[i]] == "encoder" and library == "transformers" and arch and store.relation[i] == 1:
            task, suffix = _HEADS.pick(Rng(hub.seed, 0, i, CORE + 9).u())
            prefix = arch.split("For")[0] if "For" in arch else arch.removesuffix("Model")
            pipeline, arch = task, prefix + suffix
        out = (pipeline, library, model_type, arch, kind)
    if len(cache) > 100_000:
        cache.clear()
    cache[i] = out
    return out


def _model_card_common(r: Rng, card: dict[str, Any], license_: str | None) -> None:
    if license_ is not None:
        card["license"] = license_
    if r.chance(t.MODEL_CARD_P["language"]):
        card["language"] = dedupe([t.MODEL_LANGUAGES.pick(r.u()) for _ in range(1 + (r.u() < 0.15))])


def _tags(traits: tuple[Any, ...], card: dict[str, Any] | None, *, frameworks: list[str], extra: list[str],
          chat: bool) -> list[str]:
    pipeline, library, model_type, _, kind = traits
    card = card or {}
    tags: list[str] = [library or "", *frameworks, model_type or "", pipeline or ""]
    if chat:
        tags.append("conversational")
    tags += extra
    tags += as_list(card.get("tags"))
    tags += as_list(card.get("language"))
    tags += [f"dataset:{d}" for d in as_list(card.get("datasets"))]
    license_ = card.get("license")
    if isinstance(license_, str) and license_:
        tags.append(f"license:{license_}")
    if library == "transformers" and pipeline == "text-generation":
        tags += ["autotrain_compatible", "text-generation-inference"]
    if library in ("transformers", "sentence-transformers", "diffusers") or "gguf" in frameworks:
        tags.append("endpoints_compatible")
    tags.append("region:us")
    return dedupe(tags)


def _paths_for(kind: str, traits: tuple[Any, ...], r: Rng, stem: str, quant: tuple[str, str, str | None] | None,
               relation: str | None, big: bool) -> tuple[str, ...]:
    paths = [".gitattributes", "README.md"]
    pipeline = traits[0]
    if relation == "quantized" and quant is not None and quant[1] == "gguf":
        quants = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "IQ4_XS", "f16"]
        chosen = [q for q in quants if r.chance(0.55)] or ["Q4_K_M"]
        paths += [f"{stem.removesuffix('-GGUF').removesuffix('-i1')}.{q}.gguf" for q in chosen]
        return tuple(sorted(paths))
    if relation == "adapter":
        if kind == "diffusers":
            paths += ["pytorch_lora_weights.safetensors"] + (["image_0.png"] if r.chance(0.5) else [])
        else:
            paths += ["adapter_config.json", "adapter_model.safetensors"]
            if r.chance(0.5):
                paths += ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
        return tuple(sorted(paths))
    if kind == "diffusers":
        paths += ["model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                  "text_encoder/model.safetensors", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                  "vae/config.json", "vae/diffusion_pytorch_model.safetensors"]
    elif kind == "rl":
        paths += ["config.json", "replay.mp4", "results.json", f"{stem[:40]}.zip"]
    elif kind == "bare":
        paths += [r.u() < 0.5 and "model.pt" or "checkpoint.pth"] if r.chance(0.7) else []
    else:
        paths += ["config.json"]
        if big:
            paths += ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                      "model.safetensors.index.json"]
        else:
            paths.append("model.safetensors")
        if pipeline == "text-generation":
            paths.append("generation_config.json")
        if kind != "timm":
            paths += ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
        if kind == "sentence-transformers":
            paths += ["1_Pooling/config.json", "modules.json", "sentence_bert_config.json",
                      "config_sentence_transformers.json"]
        if r.chance(0.25):
            paths.append("training_args.bin")
    return tuple(sorted(paths))


def _config(traits: tuple[Any, ...], paths: tuple[str, ...]) -> dict[str, Any] | None:
    """The Hub's ``config`` field: from config.json (architectures, model_type) and the tokenizer's
    special tokens, or ``{"diffusers": {"_class_name"}}`` from model_index.json."""
    _, library, model_type, arch, kind = traits
    if "model_index.json" in paths:
        return {"diffusers": {"_class_name": "StableDiffusionXLPipeline"}}
    if "config.json" not in paths or not arch:
        return None
    out: dict[str, Any] = {"architectures": [arch], "model_type": model_type}
    out["tokenizer_config"] = special_tokens(model_type) if "tokenizer_config.json" in paths else {}
    return out


def special_tokens(model_type: str | None) -> dict[str, str]:
    if model_type in ("llama", "mistral", "qwen2", "gemma2"):
        return {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    if model_type in ("bert", "distilbert"):
        return {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]",
                "unk_token": "[UNK]"}
    return {"eos_token": "</s>", "pad_token": "<pad>"}


def _fixed_model(hub: GeneratedHub, spec: t.Fixed, i: int, base: dict[str, Any]) -> Entity:
    traits = model_traits(hub, i)
    card = spec.card
    if card is None:
        card = {"license": spec.license, "language": ["en"]}
        if spec.base:
            card["base_model"] = spec.base
        if spec.pipeline_tag:
            card["pipeline_tag"] = spec.pipeline_tag
        if spec.library_name and spec.library_name != "transformers":
            card["library_name"] = spec.library_name
        if spec.gated:
            card["extra_gated_prompt"] = "You agree to share your contact information to access this model."
    chat = spec.pipeline_tag == "text-generation" and "Instruct" in spec.id or spec.id.endswith("-it")
    r = Rng(hub.seed, 0, i, PRESENTATION)
    paths = spec.paths or _paths_for(traits[4], traits, r, spec.id.split("/")[1], None, None, bool(spec.params)
                                     and sum(spec.params.values()) > 2_000_000_000)
    frameworks = ["safetensors"] if any(p.endswith(".safetensors") for p in paths) else []
    tags = list(spec.tags) or _tags(traits, card, frameworks=frameworks, extra=[], chat=chat)
    bases = [spec.base] if spec.base else strings(card.get("base_model"))
    config = spec.config if spec.config is not None else _config(traits, paths)
    params = spec.params
    return Entity(
        **base, tags=tags, card=card, pipeline_tag=spec.pipeline_tag, library_name=spec.library_name,
        relation="finetune" if bases else None, bases=bases, paths=paths, config=config,
        safetensors={"parameters": dict(params), "total": sum(params.values())} if params else None,
        used_storage=spec.used_storage or 1_000_000_000, title=spec.id.split("/")[1],
        body=f"\n# {spec.id.split('/')[1]}\n\nThe {spec.id.split('/')[1]} model.\n", inference=spec.inference or "warm",
        traits=traits,
    )


def _generated_model(hub: GeneratedHub, store: Store, i: int, base: dict[str, Any]) -> Entity:
    r = Rng(hub.seed, 0, i, PRESENTATION + 10)
    traits = model_traits(hub, i)
    pipeline, library, model_type, arch, kind = traits
    relation = t.RELATIONS[store.relation[i] - 1] if store.relation[i] else None
    stem = hub.namer.stem("model", i)
    quant = quant_kind(hub.seed, i) if relation == "quantized" else None
    root = i
    while hub.fixed_spec("model", root) is None and store.base[root] >= 0:
        root = store.base[root]
    root_spec = hub.fixed_spec("model", root)
    # library and pipeline as uploaded
    if relation == "adapter":
        library = "diffusers" if kind == "diffusers" else "peft"
        if library == "peft":
            pipeline = None if r.chance(0.6) else pipeline
    elif relation == "quantized" and quant is not None:
        library = quant[2]
    card: dict[str, Any] | None = None
    bases: list[str] = []
    if relation is not None or r.chance(t.MODEL_CARD_P["card"]):
        card = {}
        if relation is not None:
            named = [hub.namer.original_id("model", j) for j in store.bases(i)]
            quirk = store.quirk[i]
            if quirk == QUIRK_URL:
                card["base_model"] = f"https://huggingface.co/{named[0]}"
            elif quirk == QUIRK_PATH:
                card["base_model"] = f"./checkpoints/{named[0].split('/')[-1]}"
            else:
                card["base_model"] = named if len(named) > 1 or r.chance(0.4) else named[0]
                bases = named
            single_merge = relation == "merge" and len(named) == 1
            if single_merge or r.chance(0.35 if relation in ("quantized", "adapter") else 0.1):
                card["base_model_relation"] = relation
        inherited = root_spec.license if root_spec is not None and r.chance(0.85) else None
        if inherited is None and r.chance(t.MODEL_CARD_P["license"]):
            inherited = t.MODEL_LICENSES.pick(r.u())
        _model_card_common(r, card, inherited)
        if r.chance(t.MODEL_CARD_P["datasets"]):
            if r.chance(0.5) and hub.initial["dataset"]:
                card["datasets"] = [hub.namer.original_id("dataset", r.below(hub.initial["dataset"]))]
            else:
                card["datasets"] = [t.MODEL_DATASETS.pick(r.u())]
        card_tags: list[str] = []
        if relation == "adapter":
            card_tags += ["lora"] + (["template:sd-lora", "text-to-image"] if library == "diffusers" else ["peft"])
        elif relation == "merge":
            card_tags += ["mergekit", "merge"]
        elif relation == "quantized" and quant is not None and quant[1] == "gguf" and r.chance(0.4):
            card_tags += ["llama-cpp", "gguf-my-repo"]
        if r.chance(t.MODEL_CARD_P["tags"]):
            card_tags.append(t.MODEL_CARD_TAGS.pick(r.u()))
        if card_tags:
            card["tags"] = dedupe(card_tags)
        if library and library not in ("transformers",) and r.chance(0.3):
            card["library_name"] = library
        if pipeline and r.chance(0.1):
            card["pipeline_tag"] = pipeline
        card = card or None  # an empty front matter is no card
    params = 0
    if root_spec is not None and root_spec.params:
        params = sum(root_spec.params.values())
    elif arch:
        params = log_normal(r, 120_000_000, 1.3)
    paths = _paths_for(kind, traits, r, stem, quant, relation, params > 2_000_000_000)
    frameworks: list[str] = []
    if quant is not None and quant[1] == "gguf":
        frameworks = ["gguf"]
    elif any(p.endswith(".safetensors") for p in paths):
        frameworks = ["safetensors"]
    if "training_args.bin" in paths and r.chance(0.4):
        frameworks.insert(0, "pytorch")
    extra: list[str] = []
    if quant is not None and quant[1] in ("awq", "gptq", "4-bit"):
        extra = [quant[1]] + (["bitsandbytes"] if quant[1] == "4-bit" else [])
    if library == "peft":
        extra.append(model_type or "")
    chat = pipeline == "text-generation" and root_spec is not None and ("Instruct" in root_spec.id or root_spec.id.endswith("-it"))
    entity_traits = (pipeline, library, model_type, arch, kind)
    tags = _tags(entity_traits, card, frameworks=frameworks, extra=extra, chat=chat)
    safetensors = None
    if params and any(p.endswith(".safetensors") for p in paths) and relation != "adapter":
        dtype = "BF16" if params > 1_000_000_000 else "F32"
        safetensors = {"parameters": {dtype: params}, "total": params}
    elif relation == "adapter" and params:
        lora = max(params // 400, 1_000_000)
        safetensors = {"parameters": {"F32": lora}, "total": lora}
    gguf = None
    if quant is not None and quant[1] == "gguf" and params:
        gguf = {"total": params, "architecture": model_type or "llama", "context_length": 131_072 if model_type == "llama" else 32_768}
    file_bytes = 2 * params if relation not in ("adapter",) else params // 100
    used = max(log_normal(r, max(file_bytes, 5_000_000), 0.8), 10_000)
    title = stem
    what = f"a {relation} of [{bases[0]}](https://huggingface.co/{bases[0]})" if bases else "a model"
    body = f"\n# {title}\n\nThis is {what}, uploaded by {base['id'].split('/')[0]}.\n"
    return Entity(
        **base, tags=tags, card=card, pipeline_tag=pipeline, library_name=library,
        relation=relation if bases else None, bases=bases, paths=paths,
        config=_config(entity_traits, paths), safetensors=safetensors, gguf=gguf, used_storage=used,
        title=title, body=body, traits=entity_traits,
    )
