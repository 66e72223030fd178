"""Reply classification: opt-out, opt-in, help, campaign keyword or other — and free text to review.

Normalisation (each step tested in tests/test_receiving_keywords.py):
1. Unicode NFKC (fullwidth letters → ASCII), every kind of whitespace (NBSP, newlines, tabs)
   becomes one space, leading/trailing whitespace goes.
2. Casefold (`STOP`, `Stop`, `sToP` are one word; `ß` → `ss`).
3. Accents are folded (`ARRÊT` → `arret`, `Désinscrire` → `desinscrire`).
4. Punctuation and symbols around the message go (`"Stop."`, `¡BAJA!`, `STOP 🛑`), a deliberate
   choice: Twilio's "exact" match would not count `STOP.`; smslab does, failing closed.
   Punctuation inside stays (`opt-out` ≠ `optout` unless both are listed — both are).
5. The whole message must equal a keyword (Twilio/CTIA/Braze behaviour): "stop please" is not
   the STOP keyword. It is `other`, and `review` returns `possible_opt_out` for it, as for any
   free text a reasonable person could read as a revocation (US FCC TCPA rule, 2025-04-11).

Opt-out words of every language are honoured in every country (fail closed: a French ARRET
received in the US is still an opt-out). Opt-in and help words apply in the countries whose
languages they belong to, plus English everywhere (the languages of the rules dataset); with no
country, all. Opt-out words count in every language everywhere (fail closed), and each
country's own required opt-out keywords (`opt_out.keywords` in the dataset) count there.

Example:
    >>> classify("Stop.")
    ('STOP', 'opt_out')
    >>> classify("deal", campaign_keywords=["DEAL"])
    ('DEAL', 'keyword')
    >>> classify("please stop texting me"), review("please stop texting me")
    ((None, 'other'), 'possible_opt_out')
"""

from __future__ import annotations

import os
import re
import unicodedata

# Per language: sourced lists (wire-formats §2) and project choices, marked.
LANGUAGES: dict[str, dict[str, set[str]]] = {
    "en": {  # Twilio (current), CTIA, Braze, Bird, Telnyx ("stop all"), AWS (remove, opt-out), FCC ("opt out")
        "opt_out": {
            "stop",
            "stopall",
            "stop all",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt-out",
            "opt out",
            "remove",
        },
        "opt_in": {"start", "yes", "unstop", "begin", "resume", "revert"},
        "help": {"help", "info"},
    },
    "fr": {
        "opt_out": {"arret", "arrete", "arrett"},
        "opt_in": {"nonarret"},
        "help": {"aide"},
    },  # CWTA, Bird, Twilio Proxy
    "es": {
        "opt_out": {
            "baja",
            "detener",
            "parar",
            "desuscribir",
            "no mas",  # the FCC's own example of a revocation in another language
            "alto",
            "cancelar",
        },  # project choices (es-MX), not confirmed by a source
        "opt_in": {"alta"},
        "help": {"ayuda"},
    },
    "pt": {"opt_out": {"parar", "sair"}, "opt_in": set(), "help": {"ajuda"}},  # SAIR: project choice (pt-BR)
    "de": {"opt_out": {"halt", "stopp"}, "opt_in": set(), "help": {"hilfe"}},  # STOPP: project choice
    "it": {"opt_out": {"ferma"}, "opt_in": set(), "help": {"aiuto"}},
    "nl": {"opt_out": set(), "opt_in": set(), "help": {"hulp"}},
    "pl": {"opt_out": {"zatrzymaj"}, "opt_in": set(), "help": {"pomocy"}},
    "ru": {"opt_out": {"остановить"}, "opt_in": set(), "help": {"помощь"}},
    "no": {"opt_out": {"unsub", "stopp"}, "opt_in": set(), "help": set()},  # Brevo: STOP does not work in Norway
    "sv": {"opt_out": {"stopp"}, "opt_in": set(), "help": set()},  # project choice
    "sw": {"opt_out": set(), "opt_in": set(), "help": set()},
    "hi": {"opt_out": set(), "opt_in": set(), "help": set()},
}
_SPACE = re.compile(r"\s+")


def _strip_edges(text: str) -> str:
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start])[0] in "PSZC":
        start += 1
    while end > start and unicodedata.category(text[end - 1])[0] in "PSZC":
        end -= 1
    return text[start:end]


def normalise(text: str | None) -> str:
    """Steps 1–4 of the module docs.

    >>> normalise("  ¡ARRÊT!\\u00a0")
    'arret'
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = _SPACE.sub(" ", text).strip().casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", _strip_edges(text))


def _table(kind: str, languages: tuple[str, ...] | None) -> dict[str, str]:
    chosen = (
        LANGUAGES if languages is None else {lang: LANGUAGES[lang] for lang in ("en", *languages) if lang in LANGUAGES}
    )
    return {normalise(word): word.upper() for entry in chosen.values() for word in entry[kind]}


OPT_OUT = _table("opt_out", None)  # every language, everywhere
_TABLES: dict[tuple[str | None, str, str], tuple[dict[str, str], dict[str, str], dict[str, str]]] = {}


def _country(region: str | None) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(opt-in, help, extra opt-out words) for a region. The languages spoken and the opt-out
    keywords a country's sources require (e.g. the FCC's REVOKE, China's T) come from the rules
    dataset (`languages`, `opt_out.keywords`): one source for both. A region outside the dataset
    gets English opt-in and help words."""
    from smslab.rules import load, rules_dir

    key = (region or "").upper() or None
    # per region and dataset folder (and override): the dataset is read once, not per reply
    cache_key = (key, str(rules_dir()), os.environ.get("SMSLAB_RULES") or "")
    if cache_key not in _TABLES:
        country = load().get(key) if key else None
        languages = tuple(country.languages) if country is not None else (None if key is None else ())
        required = (country.opt_out.keywords or []) if country is not None else []
        help_words = _table("help", languages)
        extra = {normalise(w): str(w).upper() for w in required if normalise(w) not in help_words}
        _TABLES[cache_key] = (_table("opt_in", languages), help_words, extra)
    return _TABLES[cache_key]


def classify(
    text: str | None, *, campaign_keywords: list[str] | tuple[str, ...] = (), region: str | None = None
) -> tuple[str | None, str]:
    """(keyword, intent) with intent ∈ opt_out, opt_in, help, keyword, other.

    >>> classify("alta", region="MX"), classify("alta", region="GB")
    (('ALTA', 'opt_in'), (None, 'other'))
    """
    word = normalise(text)
    if word in OPT_OUT:
        return OPT_OUT[word], "opt_out"
    opt_in, help_words, required = _country(region)
    if word in required:
        return required[word], "opt_out"
    if word in opt_in:
        return opt_in[word], "opt_in"
    if word in help_words:
        return help_words[word], "help"
    keywords = {normalise(k): str(k).upper() for k in campaign_keywords if isinstance(k, str)}
    if word in keywords:
        return keywords[word], "keyword"
    return None, "other"


# Free text a reasonable person could read as "stop messaging me", in the languages above.
_REVOCATION = re.compile(
    r"\b(stop+|unsubscribe|unsub|opt ?out|remove me|take me off|leave me alone|no more|don'?t (text|message|contact)"
    r"|do not (text|message|contact)|quit (texting|messaging|sending)|cancel (my|the|this|these)"
    r"|arret\w*|desinscri\w*|desabonn\w*|ne plus (recevoir|m'?ecrire)|plus de (sms|messages)"
    r"|baja|no mas|dejen? de|no (me )?(escriban|envien|manden)|para de|parem|pare de|nao quero"
    r"|abmelden|nicht mehr|keine (sms|nachrichten)|basta|smetti|cancellami|остановить|отписаться|zatrzymaj)\b"
)


def review(text: str | None, intent: str | None = None) -> str | None:
    """Why a reply needs a human look, or None: `possible_opt_out` for free text (or a message
    that only begins with an opt-out word) that may be a revocation under the FCC rule."""
    intent = intent or classify(text)[1]
    if intent != "other":
        return None
    return "possible_opt_out" if _REVOCATION.search(normalise(text)) else None


def possible_opt_out(text: str | None) -> bool:
    """True for free text that a reasonable person may read as an opt-out ("please stop texting me")."""
    return review(text) == "possible_opt_out"
