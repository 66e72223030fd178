"""Reply classification: opt-out, opt-in, help, campaign keyword or other.

Matching is on the whole message after normalising: trim (NBSP and newlines too),
casefold, fold accents (ARRÊT → arret), strip trailing punctuation. "STOP." counts as
STOP (a deliberate, tested choice); "stop please" does not — it is `other`, and
`possible_opt_out` flags it for human review (the FCC "reasonable means" rule).
Sources for each list: ../docs/data-model.md and the reference notes.

Example:
    >>> classify("Stop.")
    ('STOP', 'opt_out')
    >>> classify("deal", campaign_keywords=["DEAL"])
    ('DEAL', 'keyword')
"""
from __future__ import annotations

import re
import unicodedata

# Twilio/CTIA/Bird/AWS lists (reference notes §2); project choices marked.
OPT_OUT = {
    "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt-out", "remove",
    "arret", "arrete", "arrett",  # fr (Twilio Proxy, CWTA)
    "baja", "detener", "parar", "desuscribir",  # es / pt (Bird, LatAm)
    "halt", "ferma", "zatrzymaj", "остановить",  # de, it, pl, ru (Bird)
    "stopp", "sair",  # project choices: de/no/sv and pt-BR, not confirmed by a source
}
OPT_IN = {"start", "yes", "unstop", "begin", "resume", "nonarret", "alta"}
HELP = {"help", "info", "aide", "hulp", "hilfe", "ayuda", "ajuda", "aiuto", "помощь", "pomocy"}
_PUNCT_TAIL = re.compile(r"[\s.!?,;:¡¿]+$")
_OPT_OUT_PHRASES = re.compile(r"\b(stop|unsubscribe|arr[eê]t|baja|parar|remove me|no more)\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """Trim, casefold, fold accents and strip trailing punctuation."""
    text = unicodedata.normalize("NFKC", text or "").replace("\u00a0", " ").strip()
    text = "".join(ch for ch in unicodedata.normalize("NFD", text.casefold()) if unicodedata.category(ch) != "Mn")
    return _PUNCT_TAIL.sub("", text).strip()


def classify(text: str, *, campaign_keywords: list[str] | tuple[str, ...] = ()) -> tuple[str | None, str]:
    """(keyword, intent) with intent ∈ opt_out, opt_in, help, keyword, other."""
    word = normalise(text)
    if word in OPT_OUT:
        return word.upper(), "opt_out"
    if word in OPT_IN:
        return word.upper(), "opt_in"
    if word in HELP:
        return word.upper(), "help"
    keywords = {normalise(k): k.upper() for k in campaign_keywords}
    if word in keywords:
        return keywords[word], "keyword"
    return None, "other"


def possible_opt_out(text: str) -> bool:
    """True for free text that a reasonable person may read as an opt-out ("please stop texting me")."""
    return classify(text)[1] == "other" and bool(_OPT_OUT_PHRASES.search(normalise(text)))
