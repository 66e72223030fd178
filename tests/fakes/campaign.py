"""A small French campaign for the sending tests: 40 consenting recipients, one short code."""

from __future__ import annotations

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
        "name": "unit-send",
        "purpose": "marketing",
        "two_way": True,
        "audience": "audience.csv",
        "default_region": "FR",
        "senders": {"FR": {"type": "short_code", "id": "36180"}},
        "message": {"text": "ACME: -30% aujourd'hui. STOP au 36180"},
        "keywords": ["DEAL"],
    }
    data.update(overrides)
    return parse_spec(data, source=str(tmp_path / "spec.yaml"), base_dir=tmp_path)


def e164(raw: str, region: str = "FR") -> str:
    return phonenumbers.format_number(phonenumbers.parse(str(raw), region), phonenumbers.PhoneNumberFormat.E164)


# the fixed moment of the CLI tests (`smslab send … --now NOW`): Monday 23 November 2026, 10:00 in
# Paris, a working morning with no holiday near, whatever the day the tests run
NOW = "2026-11-23T09:00:00Z"


def write_spec(tmp_path, n=40, **overrides):
    """`make_spec` as a file for the CLI, to be sent with `--now NOW` (every one of the `n` may go then)."""
    import json

    spec = make_spec(tmp_path, n, **overrides)
    data = spec.model_dump(mode="json", exclude_none=True)
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path
