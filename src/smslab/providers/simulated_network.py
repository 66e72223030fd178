"""The simulated network's figures: delivery rates, operators, latencies, failure mixes and
replies per country and language. Simulated, not measurements of any real network; the
simulator (`smslab.providers.simulator`) draws from them.

Example:
    >>> rate, operators, price, language = NETWORKS["FR"]
    >>> language, round(sum(weight for _, weight in operators), 6)
    ('fr', 1.0)
"""

from __future__ import annotations

# country -> (delivery rate, [(mccMnc, weight)], simulated price per segment in EUR, language)
NETWORKS: dict[str, tuple[float, list[tuple[str, float]], float, str]] = {
    "FR": (0.95, [("20801", 0.4), ("20810", 0.25), ("20815", 0.2), ("20820", 0.15)], 0.072, "fr"),
    "US": (0.92, [("310260", 0.35), ("311480", 0.4), ("310410", 0.25)], 0.0108, "en"),
    "GB": (0.96, [("23410", 0.3), ("23415", 0.2), ("23420", 0.15), ("23430", 0.35)], 0.041, "en"),
    "DE": (0.95, [("26201", 0.4), ("26202", 0.3), ("26203", 0.3)], 0.085, "de"),
    "KE": (0.88, [("63902", 0.7), ("63903", 0.3)], 0.018, "sw"),
    "BR": (0.84, [("72405", 0.35), ("72406", 0.3), ("72402", 0.35)], 0.023, "pt"),
    "ES": (0.94, [("21401", 0.3), ("21403", 0.3), ("21407", 0.4)], 0.068, "es"),
    "IN": (0.80, [("40410", 0.4), ("40445", 0.3), ("405854", 0.3)], 0.0045, "hi"),
}
DEFAULT_NETWORK = (0.90, [("00000", 1.0)], 0.05, "en")
# mccMnc -> (delivery rate, median seconds to a handset delivery): SIMULATED figures, chosen to differ
# around each country's rate; not measurements. Other operators take their country's rate and 4 s.
OPERATORS: dict[str, tuple[float, float]] = {
    "20801": (0.97, 3.0),
    "20810": (0.95, 4.0),
    "20815": (0.90, 6.0),
    "20820": (0.94, 4.5),
    "310260": (0.93, 3.0),
    "311480": (0.94, 2.5),
    "310410": (0.89, 4.5),
    "23410": (0.96, 3.5),
    "23415": (0.97, 3.0),
    "23420": (0.93, 5.0),
    "23430": (0.97, 2.5),
    "26201": (0.97, 2.5),
    "26202": (0.95, 3.5),
    "26203": (0.92, 5.0),
    "63902": (0.91, 3.0),
    "63903": (0.81, 7.0),
    "72405": (0.86, 5.0),
    "72406": (0.88, 4.0),
    "72402": (0.78, 8.0),
    "21401": (0.95, 3.0),
    "21403": (0.93, 3.5),
    "21407": (0.96, 2.5),
    "40410": (0.84, 5.0),
    "40445": (0.83, 5.5),
    "405854": (0.81, 6.5),
}
DEFAULT_LATENCY = 4.0

# Infobip status (groupId, groupName, id, name) and error (id, name, permanent)
PENDING_ENROUTE = (1, "PENDING", 7, "PENDING_ENROUTE")
DELIVERED_TO_OPERATOR = (3, "DELIVERED", 2, "DELIVERED_TO_OPERATOR")
DELIVERED_TO_HANDSET = (3, "DELIVERED", 5, "DELIVERED_TO_HANDSET")
UNDELIVERABLE = (2, "UNDELIVERABLE", 9, "UNDELIVERABLE_NOT_DELIVERED")
EXPIRED = (4, "EXPIRED", 15, "EXPIRED_EXPIRED")
REJECTED = (5, "REJECTED", 6, "REJECTED_NETWORK")
NO_ERROR = (0, "NO_ERROR", False)
FAILURES = [  # (share of failures, final status, error, latency median seconds)
    (0.30, UNDELIVERABLE, (1, "EC_UNKNOWN_SUBSCRIBER", True), 20),
    (0.15, UNDELIVERABLE, (27, "EC_ABSENT_SUBSCRIBER", False), 60),
    (0.25, EXPIRED, (27, "EC_ABSENT_SUBSCRIBER", False), 48 * 3600),
    (0.15, REJECTED, (573, "EC_SC_BLOCKED_BY_END_USER", True), 2),
    (0.15, None, None, 0),  # the operator never sends a final report: "sent" is the last word
]

REPLIES: dict[str, dict[str, list[str]]] = {
    "fr": {
        "opt_out": ["STOP", "Stop", "ARRET", "stop."],
        "help": ["AIDE", "HELP"],
        "opt_in": ["START"],
        "other": ["C'est valable en magasin ?", "Merci !", "Arrêtez de m'écrire svp"],
    },
    "en": {
        "opt_out": ["STOP", "Stop", "UNSUBSCRIBE", "stop "],
        "help": ["HELP", "help"],
        "opt_in": ["START", "UNSTOP"],
        "other": ["Is this valid in store?", "Thanks!", "please stop texting me"],
    },
    "de": {
        "opt_out": ["STOP", "Stop", "STOPP"],
        "help": ["HILFE", "HELP"],
        "opt_in": ["START"],
        "other": ["Gilt das auch online?", "Danke"],
    },
    "es": {
        "opt_out": ["BAJA", "STOP", "baja"],
        "help": ["AYUDA"],
        "opt_in": ["ALTA", "START"],
        "other": ["¿Vale en tienda?", "Gracias"],
    },
    "pt": {
        "opt_out": ["PARAR", "SAIR", "STOP"],
        "help": ["AJUDA"],
        "opt_in": ["START"],
        "other": ["Vale na loja?", "Obrigado"],
    },
    "sw": {"opt_out": ["STOP"], "help": ["HELP"], "opt_in": ["START"], "other": ["Asante"]},
    "hi": {"opt_out": ["STOP"], "help": ["HELP"], "opt_in": ["START"], "other": ["Thanks"]},
}
REPLY_MIX = [("opt_out", 0.30), ("help", 0.07), ("keyword", 0.38), ("opt_in", 0.02), ("other", 0.23)]
