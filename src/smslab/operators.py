"""Operator names: an MCC/MNC table shipped in data/operators/, and the number's range holder.

A delivery report may name the network that took the message (Infobip `mccMnc`, Vonage
`network-code`, an SMPP vendor TLV): the loader keeps it in `dlr_events.operator`. This module
turns it into a name from `data/operators/mcc_mnc.csv` (see data/operators/README.md for its
source, date and licence): the brand when the table gives one, else the operator's name.
When a provider sends no operator, `range_holders` gives the number's original range holder
from phonenumbers' carrier data (before any porting: a guess, labelled as such by analytics).

Example:
    >>> name("20801", "FR"), name("63902"), name("20877")
    ('Orange', 'Safaricom', None)
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import pandas as pd

from smslab import config


def table_path() -> Path:
    return config.data_dir() / "operators" / "mcc_mnc.csv"


@lru_cache(maxsize=1)
def table() -> pd.DataFrame:
    """(mcc_mnc, country_code, name): one row per MCC/MNC and country (some codes serve several
    territories, e.g. 310260 in the US, Puerto Rico and the US Virgin Islands)."""
    raw = pd.read_csv(table_path(), dtype=str, keep_default_na=False)
    names = raw["brand"].where(raw["brand"] != "", raw["operator"])
    frame = pd.DataFrame({"mcc_mnc": raw["mcc_mnc"], "country_code": raw["country_code"], "name": names})
    return frame[frame["name"] != ""].reset_index(drop=True)


def name(mcc_mnc: str | None, region: str | None = None) -> str | None:
    """The operator's name for an MCC/MNC (the row of `region` first when several), else None."""
    if not mcc_mnc:
        return None
    rows = table()[table()["mcc_mnc"] == str(mcc_mnc)]
    if rows.empty:
        return None
    mine = rows[rows["country_code"] == (region or "")]
    return str((mine if len(mine) else rows)["name"].iloc[0])


def range_holders(msisdns: Iterable[str]) -> pd.DataFrame:
    """(msisdn, range_holder): phonenumbers' original carrier of each E.164 number ('' → None)."""
    from smslab.numbers import normalize

    unique = pd.unique(pd.Series(list(msisdns), dtype=object).dropna())
    if not len(unique):
        return pd.DataFrame({"msisdn": pd.Series([], dtype=object), "range_holder": pd.Series([], dtype=object)})
    found = normalize(pd.Series(unique, dtype=object))["carrier"].astype(object)
    return pd.DataFrame({"msisdn": unique, "range_holder": found.where(found != "", None).to_numpy()})
