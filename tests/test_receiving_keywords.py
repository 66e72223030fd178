"""Reply classification: every normalisation choice, per-country lists, free text for review."""

import json
from datetime import datetime

import pytest

from smslab import store
from smslab.receiving.journal import Journal
from smslab.receiving.journal_load import load
from smslab.receiving.keywords import classify, normalise, review


@pytest.mark.parametrize(
    "text, expected",
    [
        ("STOP", "stop"),
        ("sToP", "stop"),
        ("  stop\n", "stop"),
        ("\u00a0STOP\u00a0", "stop"),
        ("\tStop\r\n", "stop"),
        ("Stop.", "stop"),
        ("STOP!!!", "stop"),
        ('"stop"', "stop"),
        ("¡BAJA!", "baja"),
        ("STOP 🛑", "stop"),
        ("ARRÊT", "arret"),
        ("Arrêt", "arret"),
        ("ＳＴＯＰ", "stop"),
        ("stop  all", "stop all"),
        ("opt-out", "opt-out"),
        ("STRAßE", "strasse"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalisation_choices(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "text, intent",
    [
        ("STOP", "opt_out"),
        ("Stop.", "opt_out"),
        ("stopall", "opt_out"),
        ("STOP ALL", "opt_out"),
        ("unsubscribe", "opt_out"),
        ("cancel", "opt_out"),
        ("END", "opt_out"),
        ("quit", "opt_out"),
        ("revoke", "opt_out"),
        ("opt out", "opt_out"),
        ("OPTOUT", "opt_out"),
        ("opt-out", "opt_out"),
        ("ARRET", "opt_out"),
        ("arrêt", "opt_out"),
        ("BAJA", "opt_out"),
        ("No más", "opt_out"),
        ("STOPP", "opt_out"),
        ("START", "opt_in"),
        ("unstop", "opt_in"),
        ("YES", "opt_in"),
        ("HELP", "help"),
        ("info", "help"),
        ("stop please", "other"),
        ("please stop", "other"),
        ("STOP STOP", "other"),
        ("Merci !", "other"),
    ],
)
def test_whole_message_keywords(text, intent):
    assert classify(text)[1] == intent


def test_opt_outs_count_everywhere_opt_in_and_help_per_country():
    assert classify("ARRET", region="US")[1] == "opt_out"  # fail closed: any language, any country
    assert classify("BAJA", region="GB")[1] == "opt_out"
    assert classify("AIDE", region="FR") == ("AIDE", "help")
    assert classify("AIDE", region="CA")[1] == "help"
    assert classify("AIDE", region="US")[1] == "other"
    assert classify("NONARRET", region="FR")[1] == "opt_in"
    assert classify("ALTA", region="ES")[1] == "opt_in" and classify("ALTA", region="DE")[1] == "other"
    assert classify("HELP", region="ZZ")[1] == "help"  # English words everywhere
    assert classify("UNSUB", region="NO")[1] == "opt_out"


def test_campaign_keywords_come_after_the_reserved_words():
    assert classify("Deal!", campaign_keywords=["DEAL"]) == ("DEAL", "keyword")
    assert classify("stop", campaign_keywords=["STOP"]) == ("STOP", "opt_out")


@pytest.mark.parametrize(
    "text, flagged",
    [
        ("please stop texting me", True),
        ("Stop please", True),
        ("STOP STOP", True),
        ("Remove me from your list", True),
        ("don't text me again", True),
        ("Arrêtez de m'écrire svp", True),
        ("No me escriban más", True),
        ("Bitte keine SMS mehr", True),
        ("unsubscribe me", True),
        ("Is this valid in store?", False),
        ("Thanks!", False),
        ("Gilt das auch online?", False),
        ("STOP", False),
        ("HELP", False),
        ("nonstop deals?", False),
    ],
)
def test_free_text_a_reasonable_person_reads_as_an_opt_out_is_flagged(text, flagged):
    assert (review(text) == "possible_opt_out") is flagged


def test_flagged_replies_are_honoured_in_the_ledger_for_review(tmp_path):
    Journal(tmp_path / "l").append_many(
        [
            {
                "provider": "infobip",
                "kind": "inbound",
                "received_at": datetime(2026, 12, 1, 15),
                "body": json.dumps(
                    {
                        "results": [
                            {
                                "messageId": f"mo{i}",
                                "from": "15558675310",
                                "to": "45678",
                                "text": text,
                                "receivedAt": "2026-12-01T14:10:00.000+0000",
                            }
                        ]
                    }
                ),
            }
            for i, text in enumerate(["please stop texting me", "what time do you open?", "STOP"])
        ]
    )
    con = store.connect(tmp_path / "k.duckdb")
    load(con=con, landing=tmp_path / "l")
    assert con.execute("SELECT text, intent, review FROM inbound ORDER BY text").fetchall() == [
        ("STOP", "opt_out", None),
        ("please stop texting me", "other", "possible_opt_out"),
        ("what time do you open?", "other", None),
    ]
    assert con.execute("SELECT action, source, scope FROM consent ORDER BY source").fetchall() == [
        ("opt_out", "reply-review:infobip", "45678"),
        ("opt_out", "reply:infobip", "45678"),
    ]


def test_each_country_s_required_opt_out_keywords_count_there(real_rules):
    from smslab.receiving.keywords import classify

    assert classify("T", region="CN") == ("T", "opt_out")  # China: reply T to unsubscribe
    assert classify("T", region="FR") == (None, "other")
    assert classify("iptal", region="TR") == ("IPTAL", "opt_out")  # Turkey
    assert classify("Revoke", region="US") == ("REVOKE", "opt_out")  # the FCC's 2025 keywords
    assert classify("HELP", region="AT") == ("HELP", "help")  # a help word stays help


def test_languages_come_from_the_rules_dataset(real_rules):
    from smslab.receiving.keywords import classify
    from smslab.rules import load

    assert "es" in load().country("MX").languages
    assert classify("ayuda", region="MX") == ("AYUDA", "help")
    assert classify("ayuda", region="DE") == (None, "other")
