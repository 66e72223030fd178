"""Operator names: an MCC/MNC table shipped in data/operators/, and the number's range holder.

A delivery report may name the network that took the message (Infobip `mccMnc`, Vonage
`network-code`, an SMPP vendor TLV): the loader keeps it in `dlr_events.operator`. This module
turns it into a name from `data/operators/mcc_mnc.csv` (see data/operators/README.md for its
source, date and licence): the brand when the table gives one, else the operator's name.
When a provider sends no operator, `range_holders` gives the number's original range holder
from phonenumbers' carrier data (before any porting: a guess, labelled as such by analytics),
and `code_for` / `holder_codes` give the table's MCC/MNC for that range holder (the simulator
uses them to report the network that holds each number's range).

Example:
    >>> name("20801", "FR"), name("63902"), name("20877")
    ('Orange', 'Safaricom', None)
    >>> code_for("Orange France", "FR"), code_for("T-Mobile", "DE"), code_for("Euroinformation Telecom", "FR")
    ('20801', '26201', None)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smslab import config


def table_path() -> Path:
    return config.data_dir() / "operators" / "mcc_mnc.csv"


@lru_cache(maxsize=1)
def table() -> pd.DataFrame:
    """(mcc_mnc, country_code, name): one row per MCC/MNC and country (some codes serve several
    territories, e.g. 310260 in the US, Puerto Rico and the US Virgin Islands). A name spelt
    with different letter case within a country takes its most frequent spelling there (India's
    rows say `AirTel` 19 times and `Airtel` 4 times: one operator, one row of a table by operator).

    >>> sorted(set(table().query("country_code == 'IN' and name.str.lower() == 'airtel'")["name"]))
    ['AirTel']
    """
    raw = _raw()
    names = raw["brand"].where(raw["brand"] != "", raw["operator"])
    frame = pd.DataFrame({"mcc_mnc": raw["mcc_mnc"], "country_code": raw["country_code"], "name": names})
    frame = frame[frame["name"] != ""].reset_index(drop=True)
    group = [frame["country_code"], frame["name"].str.casefold()]
    frame["name"] = frame.groupby(group)["name"].transform(lambda s: s.value_counts().index[0])
    return frame


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


# phonenumbers' range holder → the name it trades under in the table, where the two differ
# (mergers and rebrands: Orange UK and T-Mobile UK became EE, E-Plus became O2 Germany, Idea and
# Vodafone India became Vi, Telemig Celular became Vivo, Telewings traded as Uninor)
ALIASES: dict[tuple[str, str], str] = {
    ("GB", "Three"): "3",
    ("GB", "Orange"): "EE",
    ("GB", "T-Mobile"): "EE",
    ("DE", "T-Mobile"): "Telekom",
    ("DE", "Eplus"): "O2",
    ("IN", "Idea"): "Vi India",
    ("IN", "Vodafone"): "Vi India",
    ("IN", "Reliance Jio"): "Jio",
    ("IN", "Telewings"): "Uninor",
    ("IN", "Telenor"): "Uninor",
    ("BR", "Telemig Celular"): "Vivo",
}
# words that say nothing about which operator it is
_NOISE = {
    "mobile",
    "mobil",
    "telecom",
    "telecoms",
    "ltd",
    "limited",
    "gmbh",
    "sa",
    "s",
    "a",
    "u",
    "sau",
    "inc",
    "llc",
    "plc",
    "uk",
    "france",
    "espana",
    "spain",
    "deutschland",
    "germany",
    "india",
    "group",
    "the",
}


def _key(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, noise words dropped ('Orange S.A.' → 'orange')."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    return " ".join(w for w in words if w not in _NOISE) or " ".join(words)


def _squash(text: str) -> str:
    """Letters and digits only ('DIGI mobil' and 'DigiMobil' → 'digimobil')."""
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


@lru_cache(maxsize=4096)
def code_for(holder: str | None, region: str | None, preferred: Sequence[str] = ()) -> str | None:
    """The MCC/MNC of the table's operator called `holder` in `region` (a range holder's name as
    phonenumbers gives it), else None. Among several codes: one in `preferred`, then an operational
    one, then the lowest. Matched on the brand or the operator, exactly, then ignoring case,
    accents and noise words, then letters and digits only, then a one-word holder on the
    name's first word (`ALIASES` applied first; 'A/B' is A)."""
    if not isinstance(holder, str) or not holder or not region:  # (None, or pandas' NaN)
        return None
    rows = _region_rows(region)
    if rows.empty:
        return None
    holder = holder.split("/")[0]  # 'Vodafone/Lycamobile': Vodafone's range, used by Lycamobile
    holder = ALIASES.get((region, holder), holder)
    wanted = _key(holder)
    brands, operators = rows["brand_key"], rows["operator_key"]
    hit = (brands == wanted) | (operators == wanted)
    if not hit.any():
        hit = (rows["brand_squash"] == _squash(holder)) | (rows["operator_squash"] == _squash(holder))
    if not hit.any() and len(wanted) >= 3 and " " not in wanted:  # 'Onvoy' → 'Onvoy Spectrum, LLC'
        hit = (brands.str.split(" ").str[0] == wanted) | (
            (rows["brand"] == "") & (operators.str.split(" ").str[0] == wanted)
        )
    if not hit.any():
        return None
    found = rows[hit.to_numpy()]
    rank = pd.DataFrame(
        {
            "code": found["mcc_mnc"],
            "pref": ~found["mcc_mnc"].isin(list(preferred)),
            "dead": found["status"] != "Operational",
        }
    ).sort_values(["pref", "dead", "code"])
    return str(rank["code"].iloc[0])


@lru_cache(maxsize=1)
def _raw() -> pd.DataFrame:
    """data/operators/mcc_mnc.csv as written (read once: `table` and `code_for` share it)."""
    return pd.read_csv(table_path(), dtype=str, keep_default_na=False)


@lru_cache(maxsize=512)
def _region_rows(region: str) -> pd.DataFrame:
    """The table's rows for a country, with the brand and operator as `_key` and `_squash` give them."""
    raw = _raw()
    rows = raw[raw["country_code"] == region].copy()
    for column in ("brand", "operator"):
        rows[f"{column}_key"], rows[f"{column}_squash"] = rows[column].map(_key), rows[column].map(_squash)
    return rows


@lru_cache(maxsize=1)
def _longest_by_calling_code() -> dict[str, int]:
    """Calling code → its longest carrier prefix (numbers' carrier table), to cut numbers short."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    from smslab.numbers.tables import tables

    codes = {str(cc) for cc in COUNTRY_CODE_TO_REGION_CODE}
    longest: dict[str, int] = {}
    for key in tables().carrier_keys.to_pylist():  # calling codes are prefix-free: the first 1-3 digits
        cc = next((key[:n] for n in (1, 2, 3) if key[:n] in codes), "")
        longest[cc] = max(longest.get(cc, 0), len(key))
    return longest


_PREFIX_HOLDER: dict[str, str] = {}  # number prefix → range holder ('' for none), filled as numbers are seen


def _holders_of_prefixes(prefixes: np.ndarray) -> np.ndarray:
    """The range holder (or None) of each distinct number prefix: the longest carrier prefix it
    starts with (`numbers`' carrier table and prefix lookup), for the prefixes not seen before."""
    from smslab.numbers.arrow_text import prefix_lookup
    from smslab.numbers.tables import tables

    get = _PREFIX_HOLDER.get
    known = np.array([get(p) for p in prefixes.tolist()] + [None], dtype=object)[:-1]  # (1-D even for tuples)
    todo = np.flatnonzero(pd.isna(known))
    if len(todo):
        t = tables()
        width = max((len(p) for p in prefixes[todo]), default=0)
        answers = t.carrier_names[prefix_lookup(pa.array(prefixes[todo], pa.string()), t.carrier_keys, width)]
        if len(_PREFIX_HOLDER) > 2_000_000:  # a bound on memory: start again
            _PREFIX_HOLDER.clear()
        _PREFIX_HOLDER.update(zip(prefixes[todo].tolist(), answers.tolist(), strict=True))  # -1 picked ''
        known[todo] = answers
    known[known == ""] = None
    return known


def holder_codes(
    msisdns: np.ndarray, regions: np.ndarray, preferred: dict[str, list[str]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(range holder, MCC/MNC) of each E.164 number (None where unknown or not in the table).

    Vectorised: each number is cut to the longest carrier prefix of its region's calling code, and
    the range holder is looked up once per distinct prefix (cached across calls), the code once per
    holder and region. The number's type is not checked: where `range_holders` names a holder
    (a mobile number), this names the same one.

    >>> holders, codes = holder_codes(np.array(["+33612345678", "+254712345678", "+4930123456"], dtype=object),
    ...                               np.array(["FR", "KE", "DE"], dtype=object))
    >>> holders.tolist(), codes.tolist()
    (['SFR', 'Safaricom', None], ['20808', '63902', None])
    """
    import phonenumbers

    n = len(msisdns)
    holders, codes = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    if not n:
        return holders, codes
    longest = _longest_by_calling_code()
    digits = pc.utf8_ltrim(pa.array(msisdns, type=pa.string()), "+")
    region_codes, region_list = pd.factorize(pd.Series(regions, dtype=object), use_na_sentinel=True)
    for r, region in enumerate(region_list):
        mine = np.flatnonzero(region_codes == r)
        cc = str(phonenumbers.country_code_for_region(str(region)))
        inside = pc.fill_null(pc.starts_with(digits.take(pa.array(mine)), cc), False).to_numpy(zero_copy_only=False)
        wanted = tuple((preferred or {}).get(str(region), ()))
        # a number outside its region's calling code is cut at the longest prefix of any code
        for rows, width in ((mine[inside], longest.get(cc, 0)), (mine[~inside], max(longest.values()))):
            if not len(rows) or not width:
                continue
            cut = pc.fill_null(pc.utf8_slice_codeunits(digits.take(pa.array(rows)), 0, width), "")
            index, uniques = pd.factorize(np.asarray(cut.to_numpy(zero_copy_only=False), dtype=object))
            found = _holders_of_prefixes(np.asarray(uniques, dtype=object))
            holder_ix, holder_names = pd.factorize(found)  # then one code per distinct holder
            code = np.array([code_for(h, str(region), wanted) for h in holder_names] + [None], dtype=object)
            holders[rows] = found[index]  # (no prefix is missing: nulls were cut to '')
            codes[rows] = code[holder_ix][index]  # a holder of None (-1) picks the appended None
    return holders, codes
