"""Audiences: read a list of recipients, normalise their numbers, quarantine what cannot be used.

An audience is a CSV file, a Parquet file or a DuckDB table (`duckdb:TABLE`, with `con=`)
with an `msisdn` column and optionally `region`, `consent_at` and `consent_source`. Every
other column is kept as a JSON object in `attributes`. Rows with the same E.164 number
collapse to one (the latest `consent_at` wins); rows whose number is not valid, or whose
`consent_at` is not a date, are quarantined with the reason and where they were.

Two modules: `smslab.audience.readers` reads the files and tables (CSV through pyarrow.csv or
the csv module, Parquet, DuckDB; encodings, headers, blocks) and `smslab.audience.loading`
normalises, validates and collapses what they read.

Example:
    >>> from smslab.audience import load
    >>> result = load("tests/fixtures/audience/basic.csv", default_region="FR")
    >>> result.summary["by_country"], result.frame.loc[0, "time_zone"]
    ({'FR': 2, 'KE': 1, 'US': 1}, 'Europe/Paris')
"""

from __future__ import annotations

from smslab.audience.loading import FRAME_COLUMNS, AudienceLoad, load

__all__ = ["FRAME_COLUMNS", "AudienceLoad", "load"]
