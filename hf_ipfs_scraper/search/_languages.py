"""Language codes as words: a card that says ``language: de`` is found by "german" and "deutsch".

Cards give ISO 639 codes (``de``), names (``german``) or both; the index holds all three: the code,
the English name and the name in the language itself (in its own script where that is how people
type it). The list covers the languages of the Hub's most common cards; others keep their code.
"""

from __future__ import annotations

from collections.abc import Iterable

_NAMES = {
    "af": "afrikaans", "am": "amharic", "ar": "arabic العربية", "az": "azerbaijani azərbaycan",
    "be": "belarusian беларуская", "bg": "bulgarian български", "bn": "bengali bangla বাংলা",
    "bs": "bosnian bosanski", "ca": "catalan català", "cs": "czech čeština", "cy": "welsh cymraeg",
    "da": "danish dansk", "de": "german deutsch", "dv": "dhivehi divehi", "el": "greek ελληνικά",
    "en": "english", "eo": "esperanto", "es": "spanish español castellano", "et": "estonian eesti",
    "eu": "basque euskara", "fa": "persian farsi فارسی", "fi": "finnish suomi", "fr": "french français",
    "ga": "irish gaeilge", "gl": "galician galego", "gu": "gujarati", "he": "hebrew עברית",
    "hi": "hindi हिन्दी", "hr": "croatian hrvatski", "hu": "hungarian magyar", "hy": "armenian",
    "id": "indonesian bahasa", "is": "icelandic íslenska", "it": "italian italiano", "ja": "japanese 日本語",
    "ka": "georgian", "kk": "kazakh", "km": "khmer", "kn": "kannada", "ko": "korean 한국어",
    "ky": "kyrgyz", "la": "latin", "lt": "lithuanian lietuvių", "lv": "latvian latviešu",
    "mk": "macedonian", "ml": "malayalam", "mn": "mongolian монгол", "mr": "marathi",
    "ms": "malay melayu", "mt": "maltese", "my": "burmese", "ne": "nepali", "nl": "dutch nederlands",
    "no": "norwegian norsk", "nb": "norwegian bokmål norsk", "nn": "norwegian nynorsk norsk",
    "pa": "punjabi", "pl": "polish polski", "pt": "portuguese português", "ro": "romanian română",
    "ru": "russian русский", "sa": "sanskrit", "si": "sinhala", "sk": "slovak slovenčina",
    "sl": "slovenian slovenščina", "sq": "albanian shqip", "sr": "serbian српски srpski",
    "sv": "swedish svenska", "sw": "swahili kiswahili", "ta": "tamil", "te": "telugu", "th": "thai ไทย",
    "tl": "tagalog filipino", "tn": "tswana setswana", "tr": "turkish türkçe", "uk": "ukrainian українська",
    "ur": "urdu اردو", "uz": "uzbek", "vi": "vietnamese tiếng việt", "yo": "yoruba", "zh": "chinese 中文",
    "zu": "zulu",
}
_CODES = {names.split()[0]: code for code, names in _NAMES.items()}


def language_words(languages: Iterable[str]) -> list[str]:
    """Each language with its code and names, de-duplicated: ``["de"]`` → ``["de", "german deutsch"]``."""
    found: dict[str, None] = {}
    for value in languages:
        text = value.strip().lower()
        code = text if text in _NAMES else _CODES.get(text, text.split("-")[0].split("_")[0])
        for word in (text, code, _NAMES.get(code, "")):
            if word:
                found[word] = None
    return list(found)
