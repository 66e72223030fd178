"""A small French campaign for the sending tests: 40 consenting recipients, one short code."""
from __future__ import annotations

from datetime import UTC

import phonenumbers

from smslab.campaign import parse_spec
from smslab.synthetic import audience as synthetic_audience


def make_spec(tmp_path, n=40, **overrides):
    frame = synthetic_audience(400, seed=3)
    fr = frame[frame["language"] == "fr"].head(n).copy()
    fr["consent_at"] = "2026-01-01T00:00:00"
    fr["consent_source"] = "web_form"
    fr.to_csv(tmp_path / "audience.csv", index=False)
    data = {
        "name": "unit-send", "purpose": "marketing", "two_way": True, "audience": "audience.csv",
        "default_region": "FR", "senders": {"FR": {"type": "short_code", "id": "36180"}},
        "message": {"text": "ACME: -30% aujourd'hui. STOP au 36180"}, "keywords": ["DEAL"],
    }
    data.update(overrides)
    return parse_spec(data, source=str(tmp_path / "spec.yaml"), base_dir=tmp_path)


def e164(raw: str, region: str = "FR") -> str:
    return phonenumbers.format_number(phonenumbers.parse(str(raw), region), phonenumbers.PhoneNumberFormat.E164)


def write_spec(tmp_path, n=40, **overrides):
    """`make_spec` as a file for the CLI, sent on the first coming working afternoon when all `n` may go.

    The CLI cannot be given a clock, so the send is scheduled (`send_at`) instead: the check then
    looks at that moment, whatever the time the test runs (quiet hours, weekends, French holidays).
    """
    import json
    from datetime import datetime, timedelta

    from smslab.compliance import check

    day = datetime.now(UTC).replace(hour=13, minute=0, second=0, microsecond=0) + timedelta(days=2)
    for _ in range(30):
        day += timedelta(days=1)
        spec = make_spec(tmp_path, n, send_at=day.isoformat(), **overrides)
        if check(spec).summary()["recipients"]["allowed"] == n:
            break
    else:  # pragma: no cover - thirty days without a working afternoon
        raise RuntimeError("no day in the next month lets the test campaign go")
    data = spec.model_dump(mode="json", exclude_none=True)
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path
