"""Benchmark: the four reports (campaign_setup, cost_estimate, delivery_funnel, optout_keywords)
on a 1M-message campaign, each executed with papermill and exported to offline HTML.

The database is generated directly with DuckDB SQL (not through the simulator, which has its own
benchmark): 1M recipients in 8 countries, 1M messages with realistic statuses, two delivery
reports per submitted message (intermediate and final, with `mccMnc` and error flags in the raw
Infobip JSON), ~4% replies (opt-outs, keywords, free text; Kenya's on the opt-out short code,
with consent-ledger rows) and conversions for 2% of delivered recipients. The audience is also
written as Parquet and referenced by the stored spec, so the planning reports load and check all
1M recipients.

Baseline (same run, named `fixed cost`): the same four reports on a 1,000-message campaign built
the same way — kernel start, imports and HTML export, which do not grow with the data. The ratio
says how much 1,000× more data costs.

    .venv/bin/python bench/reports.py [--messages 1000000] [--baseline 1000] [--keep DIR]

Target (DESIGN.md): the full report suite on 1M messages ≤ 90 s on 2 cores.
"""

from __future__ import annotations

import os
import sys

# bench/numbers.py would shadow the standard library's `numbers` (numpy imports it): drop this folder
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from smslab import store  # noqa: E402
from smslab.reporting import run_report  # noqa: E402

REPORTS = ["campaign_setup", "cost_estimate", "delivery_funnel", "optout_keywords"]
SEND_AT = "2026-12-01 14:00:00"
# cc, share of the audience, E.164 prefix, digits after it, sender type, sender id, mcc-mnc list
COUNTRIES = [
    ("FR", 0.25, "+336", 8, "short_code", "36180", ["20801", "20810", "20815", "20820"]),
    ("US", 0.20, "+1415", 7, "short_code", "45678", ["310260", "310410", "311480"]),
    ("GB", 0.12, "+4479", 8, "long_code", "447700900123", ["23410", "23415", "23420", "23430"]),
    ("DE", 0.12, "+49151", 8, "long_code", "4915799900123", ["26201", "26202", "26203"]),
    ("ES", 0.08, "+346", 8, "long_code", "34600900123", ["21401", "21403", "21407"]),
    ("KE", 0.08, "+25471", 7, "alphanumeric", "ACME", ["63902", "63903"]),
    ("BR", 0.08, "+551199", 7, "short_code", "28990", ["72402", "72405", "72406"]),
    ("IN", 0.07, "+9198", 8, "short_code", "561234", ["40410", "40445", "405854"]),
]
PRICE = {"FR": 0.072, "US": 0.0108, "GB": 0.041, "DE": 0.085, "ES": 0.068, "KE": 0.018, "BR": 0.023, "IN": 0.0045}


def spec(name: str, audience: Path) -> dict:
    senders = {cc: {"type": t, "id": sid} for cc, _s, _p, _d, t, sid, _m in COUNTRIES}
    senders["KE"].update({"opt_out_short_code": "21456", "two_way": False})
    senders["IN"]["two_way"] = False
    return {
        "name": name,
        "purpose": "marketing",
        "two_way": True,
        "send_at": "2026-12-01T14:00:00+00:00",
        "audience": str(audience),
        "default_region": "FR",
        "senders": senders,
        "message": {
            "text": "ACME Black Friday: -30% aujourd'hui. Répondez DEAL. STOP au 36180",
            "variants": {"B": {"text": "ACME: -30% sur tout, aujourd'hui. Répondez DEAL. STOP au 36180"}},
            "by_country": {
                "US": "ACME Black Friday: 30% off today only. Reply DEAL. Reply STOP to opt out.",
                "GB": "ACME Black Friday: 30% off today only. Reply DEAL. Reply STOP to opt out.",
                "DE": "ACME Black Friday: heute 30% Rabatt. Antworte DEAL. Abmelden: STOP",
                "KE": "ACME Black Friday: 30% off today only. Opt out: STOP to 21456",
                "BR": "ACME Black Friday: 30% de desconto hoje. Responda DEAL. Para sair: PARAR",
                "ES": "ACME Black Friday: 30% de descuento hoy. Responde DEAL. Baja: BAJA",
                "IN": "ACME Black Friday: 30% off today only. To opt out SMS STOP to 1909",
            },
        },
        "keywords": ["DEAL"],
        "provider": "simulator",
    }


def build(db: Path, messages: int, workdir: Path) -> str:
    """A campaign of `messages` recipients/messages with reports, replies and conversions."""
    cid = f"bench-{messages}"
    con = store.connect(db)
    countries = "VALUES " + ", ".join(
        f"('{cc}', {share}, '{prefix}', {digits}, '{stype}', '{sid}', {mccs!r}, {PRICE[cc]})"
        for cc, share, prefix, digits, stype, sid, mccs in COUNTRIES
    )
    lo = 0.0
    bounds = []
    for cc, share, *_ in COUNTRIES:
        bounds.append(f"WHEN u < {lo + share:.4f} THEN '{cc}'")
        lo += share
    con.execute(f"CREATE TEMP TABLE c(cc, share, prefix, digits, stype, sid, mccs, price) AS {countries}")
    # one row per recipient with its random draws (hash-based, so the build is deterministic)
    con.execute(f"""
        CREATE TEMP TABLE r AS
        WITH base AS (SELECT i, (hash(i, 1) % 1000000) / 1e6 AS u, (hash(i, 2) % 1000000) / 1e6 AS s,
                             (hash(i, 3) % 1000000) / 1e6 AS v, (hash(i, 4) % 1000000) / 1e6 AS w,
                             hash(i, 5) % 100000 AS lat_ms
                      FROM range({messages}) t(i)),
        g AS (SELECT *, CASE {" ".join(bounds)} ELSE 'IN' END AS cc FROM base)
        SELECT g.*, row_number() OVER (PARTITION BY cc ORDER BY i) - 1 AS k FROM g""")
    con.execute("""
        CREATE TEMP TABLE rr AS
        SELECT r.*, c.prefix || lpad(CAST(CASE WHEN c.digits = 7 THEN 2000000 + k ELSE k END AS VARCHAR),
                                     CAST(c.digits AS INTEGER), '0') AS msisdn,
               c.stype, c.sid, c.price, c.mccs[1 + CAST(floor(w * len(c.mccs)) AS INTEGER)] AS mcc,
               CASE WHEN s < 0.02 THEN 'blocked' WHEN s < 0.03 THEN 'queued' WHEN s < 0.04 THEN 'submitted'
                    WHEN s < 0.06 THEN 'sent' WHEN s < 0.085 THEN 'undelivered' WHEN s < 0.10 THEN 'expired'
                    WHEN s < 0.11 THEN 'rejected' ELSE 'delivered' END AS status,
               CASE WHEN hash(i, 6) % 2 = 0 THEN 'A' ELSE 'B' END AS variant
        FROM r JOIN c USING (cc)""")
    audience = workdir / f"audience-{messages}.parquet"
    con.execute(f"""COPY (SELECT msisdn, cc AS region,
                                 TIMESTAMP '2026-03-01' + to_minutes(CAST(hash(i, 7) % 200000 AS BIGINT))
                          AS consent_at, 'web_form' AS consent_source FROM rr ORDER BY i)
                    TO '{audience}' (FORMAT parquet)""")
    con.execute(
        "INSERT INTO campaigns (campaign_id, name, purpose, two_way, spec, created_at) "
        "VALUES (?, ?, 'marketing', true, ?, TIMESTAMP '2026-11-24 09:00:00')",
        [cid, cid, json.dumps(spec(cid, audience))],
    )
    con.execute(f"""INSERT INTO audience (campaign_id, msisdn, region, valid, number_type, consent_at, consent_source)
                    SELECT '{cid}', msisdn, cc, true, 'mobile', TIMESTAMP '2026-03-01', 'web_form' FROM rr""")
    con.execute(f"""
        INSERT INTO messages BY NAME
        SELECT md5(msisdn) AS message_id, '{cid}' AS campaign_id, variant, msisdn, cc AS region, stype AS sender_type,
               sid AS sender_id, 'simulator' AS provider,
               CASE WHEN status <> 'queued' THEN 'SIM' || i END AS provider_message_id, 'text' AS text,
               'GSM-7' AS encoding, 1 AS segments, TIMESTAMP '{SEND_AT}' AS scheduled_at,
               CASE WHEN status <> 'queued' THEN TIMESTAMP '2026-11-30 09:00:00' END AS submitted_at, status,
               TIMESTAMP '{SEND_AT}' + to_milliseconds(lat_ms) AS status_at,
               CASE status WHEN 'undelivered' THEN '1' WHEN 'expired' THEN '27' WHEN 'rejected' THEN '573' END
                 AS error_code,
               CASE WHEN status <> 'queued' THEN price END AS price, 'EUR' AS currency
        FROM rr WHERE status <> 'blocked'""")
    # an intermediate report for every message that reached the operator, then the final one
    con.execute(f"""
        INSERT INTO dlr_events (event_id, provider, provider_message_id, status, raw_status, error_code, permanent,
                                event_at, received_at, source, raw)
        SELECT md5('s' || i), 'infobip', 'SIM' || i, 'sent', 'DELIVERED_TO_OPERATOR', NULL, false,
               TIMESTAMP '{SEND_AT}' + to_milliseconds(200), TIMESTAMP '{SEND_AT}' + to_milliseconds(250), 'bench',
               json_object('messageId', 'SIM' || i, 'mccMnc', mcc,
                           'status', json_object('name', 'DELIVERED_TO_OPERATOR'))
        FROM rr WHERE status IN ('sent', 'delivered', 'undelivered')""")
    con.execute(f"""
        INSERT INTO dlr_events (event_id, provider, provider_message_id, status, raw_status, error_code, permanent,
                                event_at, received_at, source, raw)
        SELECT md5('f' || i), 'infobip', 'SIM' || i, status,
               CASE status WHEN 'delivered' THEN 'DELIVERED_TO_HANDSET' WHEN 'expired' THEN 'EXPIRED'
                           WHEN 'rejected' THEN 'REJECTED_DESTINATION' ELSE 'UNDELIVERABLE_NOT_DELIVERED' END,
               CASE status WHEN 'undelivered' THEN '1' WHEN 'expired' THEN '27' WHEN 'rejected' THEN '573' END,
               status IN ('undelivered', 'rejected') AND w < 0.7,
               TIMESTAMP '{SEND_AT}' + to_milliseconds(lat_ms), TIMESTAMP '{SEND_AT}' + to_milliseconds(lat_ms + 50),
               'bench',
               json_object('messageId', 'SIM' || i, 'mccMnc', mcc,
                           'error', json_object('name', CASE status WHEN 'delivered' THEN 'NO_ERROR'
                                                WHEN 'expired' THEN 'EC_ABSENT_SUBSCRIBER' WHEN 'rejected'
                                                THEN 'EC_SC_BLOCKED_BY_END_USER' ELSE 'EC_UNKNOWN_SUBSCRIBER' END,
                                                'permanent', status IN ('undelivered', 'rejected') AND w < 0.7))
        FROM rr WHERE status IN ('delivered', 'undelivered', 'expired', 'rejected')""")
    # replies from delivered recipients: 1.5% opt-outs, 1.5% keyword, 0.5% help, 0.5% free text
    con.execute("""
        CREATE TEMP TABLE rep AS
        SELECT i, msisdn, cc, sid, v,
               CASE WHEN v < 0.015 THEN 'opt_out' WHEN v < 0.03 THEN 'keyword' WHEN v < 0.035 THEN 'help'
                    ELSE 'other' END AS intent
        FROM rr WHERE status = 'delivered' AND v < 0.04""")
    con.execute(f"""
        INSERT INTO inbound (provider, provider_message_id, msisdn, recipient, text, keyword, intent, campaign_id,
                             received_at, raw)
        SELECT 'infobip', 'MO' || i, msisdn, CASE WHEN cc = 'KE' THEN '21456' ELSE sid END,
               CASE intent WHEN 'opt_out' THEN (CASE cc WHEN 'BR' THEN 'PARAR' WHEN 'ES' THEN 'BAJA' ELSE 'STOP' END)
                           WHEN 'keyword' THEN 'Deal!' WHEN 'help' THEN 'HELP'
                           ELSE (CASE WHEN v < 0.0375 THEN 'please stop texting me'
                                      ELSE 'Is this valid in store?' END) END,
               CASE intent WHEN 'opt_out' THEN (CASE cc WHEN 'BR' THEN 'PARAR' WHEN 'ES' THEN 'BAJA' ELSE 'STOP' END)
                           WHEN 'keyword' THEN 'DEAL' WHEN 'help' THEN 'HELP' END,
               intent, '{cid}', TIMESTAMP '{SEND_AT}' + to_seconds(CAST(hash(i, 8) % 20000 AS BIGINT)), '{{}}'
        FROM rep""")
    con.execute("""
        INSERT INTO consent (consent_id, msisdn, scope, action, source, evidence, recorded_at)
        SELECT md5('c' || i), msisdn, sid, 'opt_out', 'reply:infobip',
               json_object('text', 'STOP', 'provider_message_id', 'MO' || i), TIMESTAMP '2026-12-01 15:00:00'
        FROM rep WHERE intent = 'opt_out'""")
    con.execute(f"""
        INSERT INTO conversions (msisdn, converted_at, value, currency, reference)
        SELECT msisdn, TIMESTAMP '{SEND_AT}' + to_minutes(CAST(hash(i, 9) % 14400 AS BIGINT)),
               round(10 + (hash(i, 10) % 9000) / 100.0, 2), 'EUR', 'order-' || i
        FROM rr WHERE status = 'delivered' AND w > 0.98""")
    con.close()
    return cid


def suite(db: Path, cid: str, out: Path) -> dict[str, float]:
    times = {}
    for name in REPORTS:
        started = time.perf_counter()
        run_report(name, parameters={"db": str(db), "campaign_id": cid}, output_dir=out)
        times[name] = time.perf_counter() - started
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=1_000, help="messages in the fixed-cost baseline")
    parser.add_argument("--keep", type=Path, default=None, help="keep the databases and HTML in this folder")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="smslab-bench-reports-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        small = build(root / "small.duckdb", args.baseline, root)
        big_db = root / "big.duckdb"
        t0 = time.perf_counter()
        big = build(big_db, args.messages, root)
        t_build = time.perf_counter() - t0
        con = store.connect(big_db, read_only=True)
        counts = con.execute(
            "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM dlr_events), "
            "(SELECT count(*) FROM inbound), (SELECT count(*) FROM conversions)"
        ).fetchall()[0]
        con.close()
        print(
            f"built {big}: {counts[0]:,} messages, {counts[1]:,} delivery reports, {counts[2]:,} replies, "
            f"{counts[3]:,} conversions in {t_build:.1f} s (DuckDB SQL)"
        )
        # what each report pays to read: store.snapshot copies the file into memory (no lock kept)
        snaps = []
        for _ in range(3):
            t0 = time.perf_counter()
            store.snapshot(big_db).close()
            snaps.append(time.perf_counter() - t0)
        print(
            f"store.snapshot of the {args.messages:,}-message database ({big_db.stat().st_size / 1e6:.0f} MB): "
            f"best of 3 {min(snaps):.2f} s (each report takes one)"
        )
        base = suite(root / "small.duckdb", small, root / "reports-small")
        full = suite(big_db, big, root / "reports-big")
        fixed, big_n = f"fixed cost ({args.baseline:,})", f"{args.messages:,} messages"
        print(f"{'report':<17}{fixed:>22}{big_n:>20}")
        for name in REPORTS:
            print(f"{name:<17}{base[name]:>20.1f} s{full[name]:>18.1f} s")
        total_base, total = sum(base.values()), sum(full.values())
        print(f"{'suite':<17}{total_base:>20.1f} s{total:>18.1f} s")
        print(
            f"ratio: the suite on {args.messages:,} messages takes {total / total_base:.2f}× the fixed cost "
            f"of {args.baseline:,}; target ≤ 90 s: {'met' if total <= 90 else 'NOT met'} ({total:.1f} s); "
            f"whole benchmark {time.perf_counter() - started:.0f} s"
        )
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
