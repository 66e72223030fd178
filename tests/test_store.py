from smslab import store

DESIGN_COLUMNS = {
    "campaigns": ["campaign_id", "name", "purpose", "two_way", "spec", "created_at"],
    "audience": [
        "campaign_id",
        "msisdn",
        "region",
        "valid",
        "number_type",
        "time_zone",
        "consent_at",
        "consent_source",
        "attributes",
    ],
    "messages": [
        "message_id",
        "campaign_id",
        "variant",
        "msisdn",
        "region",
        "sender_type",
        "sender_id",
        "provider",
        "provider_message_id",
        "text",
        "encoding",
        "segments",
        "scheduled_at",
        "submitted_at",
        "status",
        "status_at",
        "error_code",
        "price",
        "currency",
    ],
    "dlr_events": [
        "provider",
        "provider_message_id",
        "status",
        "raw_status",
        "error_code",
        "permanent",
        "event_at",
        "received_at",
        "source",
        "raw",
    ],
    "inbound": [
        "provider",
        "provider_message_id",
        "msisdn",
        "recipient",
        "text",
        "keyword",
        "intent",
        "campaign_id",
        "received_at",
        "raw",
    ],
    "consent": ["msisdn", "scope", "action", "source", "evidence", "recorded_at"],
    "quarantine": ["source", "location", "raw", "reason", "quarantined_at"],
    "findings": ["campaign_id", "rule", "severity", "region", "recipients", "message", "source_url"],
    "conversions": ["msisdn", "converted_at", "value", "currency", "reference"],
}


def columns(con, table):
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def test_every_design_table_and_column_exists(tmp_path):
    con = store.connect(tmp_path / "a.duckdb")
    for table, expected in DESIGN_COLUMNS.items():
        assert set(expected) <= set(columns(con, table)), table
    assert store.current_version(con) == len(store.MIGRATIONS)


def test_migrations_twice_are_harmless_and_keep_data(tmp_path):
    path = tmp_path / "a.duckdb"
    con = store.connect(path)
    con.execute("INSERT INTO consent VALUES ('k', '+33612345678', '*', 'opt_out', 'test', '', now()::TIMESTAMP)")
    assert store.migrate(con) == len(store.MIGRATIONS)
    con.close()
    con = store.connect(path)  # migrates again on open
    assert store.scalar(con, "SELECT count(*) FROM consent") == 1
    assert store.scalar(con, "SELECT count(*) FROM schema_version") == len(store.MIGRATIONS)


def test_db_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SMSLAB_DB", str(tmp_path / "env.duckdb"))
    store.connect().close()
    assert (tmp_path / "env.duckdb").exists()


def test_quarantine_is_idempotent(tmp_path):
    con = store.connect(tmp_path / "q.duckdb")
    row = {"source": "f.jsonl", "location": "line 3", "raw": "{bad", "reason": "malformed JSON"}
    assert store.quarantine(con, [row, row]) == 1
    assert store.quarantine(con, [row]) == 0
    assert con.execute("SELECT location, reason FROM quarantine").fetchall() == [("line 3", "malformed JSON")]


def test_a_database_made_before_migration_3_keeps_its_audience_and_messages(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    monkeypatch.setattr(store.migrations, "MIGRATIONS", store.MIGRATIONS[:2])  # what migrate() reads
    con = store.connect(path)
    con.execute(
        "INSERT INTO audience (campaign_id, msisdn, region, attributes) "
        "VALUES ('c1', '+33612345678', 'FR', '{\"a\": 1}')"
    )
    con.execute("""INSERT INTO messages (message_id, campaign_id, msisdn, status, segments, submit_attempted_at)
                   VALUES ('m1', 'c1', '+33612345678', 'submitted', 2, TIMESTAMP '2026-12-01 10:00:00')""")
    con.close()
    monkeypatch.undo()
    con = store.connect(path)
    assert store.current_version(con) == len(store.MIGRATIONS) >= 3
    assert con.execute("SELECT campaign_id, msisdn, region, attributes FROM audience").fetchall() == [
        ("c1", "+33612345678", "FR", '{"a": 1}')
    ]
    rows = con.execute("SELECT message_id, status, segments, submit_attempted_at::VARCHAR FROM messages").fetchall()
    assert rows == [("m1", "submitted", 2, "2026-12-01 10:00:00")]
    assert set(DESIGN_COLUMNS["messages"]) <= set(columns(con, "messages"))
