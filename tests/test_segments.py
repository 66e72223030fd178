"""Segment counting at every boundary (wire-formats.md §3), the vectorised form and gsm_safe."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from click.testing import CliRunner

from smslab.cli import cli
from smslab.segments import GSM_BASIC, GSM_EXTENSION, count, count_series, gsm_safe, gsm_safe_series, split

EMOJI = "😀"  # U+1F600, outside the BMP: a surrogate pair in UTF-16


def seg(text: str) -> tuple[str, int, int]:
    c = count(text)
    return c.encoding, c.segments, c.units


# --- GSM-7 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, segments",
    [(1, 1), (159, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4), (153 * 10, 10), (153 * 10 + 1, 11)],
)
def test_gsm_boundaries(n: int, segments: int) -> None:
    assert seg("a" * n) == ("GSM-7", segments, n)


def test_empty_text_is_zero_segments() -> None:
    empty = count("")
    assert (empty.encoding, empty.segments, empty.units, empty.non_gsm) == ("GSM-7", 0, 0, [])
    assert seg("") == ("GSM-7", 0, 0)
    assert split("") == []


def test_whole_basic_table_is_gsm_and_one_septet_each() -> None:
    basic = GSM_BASIC.replace("\x1b", "")
    assert len(basic) == 127
    c = count(basic)
    assert (c.encoding, c.units, c.non_gsm) == ("GSM-7", 127, [])


@pytest.mark.parametrize("ch", list(GSM_EXTENSION))
def test_extension_characters_cost_two_septets(ch: str) -> None:
    assert seg(ch) == ("GSM-7", 1, 2)
    assert seg("a" * 158 + ch) == ("GSM-7", 1, 160)
    assert seg("a" * 159 + ch) == ("GSM-7", 2, 161)


def test_escape_pair_exactly_at_part_boundary_moves_to_next_part() -> None:
    # 152 septets, then € would occupy septets 153-154: it must not straddle the cut.
    text = "a" * 152 + "€" + "b" * 152
    assert count(text).units == 306  # fits 2×153 by arithmetic…
    assert count(text).segments == 3  # …but the pair is pushed to part 2, so part 3 is needed
    assert [count(p).units for p in split(text)] == [152, 153, 1]
    # One septet earlier the pair fits entirely in part 1.
    text2 = "a" * 151 + "€" + "b" * 153
    assert seg(text2) == ("GSM-7", 2, 306)


def test_escape_pairs_repeatedly_at_boundaries() -> None:
    # Only € : 2 septets each; 76 per part (152 septets), a part can never hold 153.
    text = "€" * 100
    assert count(text).units == 200
    assert count(text).segments == 2
    text = "€" * 153  # 306 septets, but 76 pairs per part → 3 parts
    assert count(text).segments == 3


def test_parts_reassemble_and_respect_sizes() -> None:
    text = ("x€" * 200) + "y"
    parts = split(text)
    assert "".join(parts) == text
    assert all(count(p).units <= 153 for p in parts)
    assert len(parts) == count(text).segments


# --- UCS-2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, segments", [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (67 * 8, 8), (67 * 8 + 1, 9)]
)
def test_ucs2_boundaries(n: int, segments: int) -> None:
    text = "á" + "a" * (n - 1)
    assert seg(text) == ("UCS-2", segments, n)


def test_one_non_gsm_character_switches_the_whole_message() -> None:
    assert seg("a" * 160) == ("GSM-7", 1, 160)
    assert seg("a" * 159 + "ç") == ("UCS-2", 3, 160)
    assert count("a" * 159 + "ç").non_gsm == ["ç"]


def test_extension_characters_cost_one_unit_in_ucs2() -> None:
    assert seg("€á") == ("UCS-2", 1, 2)
    assert seg("€" * 69 + "á") == ("UCS-2", 1, 70)


def test_emoji_is_two_units() -> None:
    assert seg(EMOJI) == ("UCS-2", 1, 2)
    assert seg("a" * 68 + EMOJI) == ("UCS-2", 1, 70)
    assert seg("a" * 69 + EMOJI) == ("UCS-2", 2, 71)


def test_surrogate_pair_exactly_at_part_boundary_is_not_split() -> None:
    text = "a" * 66 + EMOJI + "b" * 66  # 134 units = 2×67, but the emoji would straddle the first cut
    assert count(text).units == 134
    assert count(text).segments == 3
    assert [count(p).units for p in split(text)] == [66, 67, 1]
    text2 = "a" * 65 + EMOJI + "b" * 67
    assert seg(text2) == ("UCS-2", 2, 134)


@pytest.mark.parametrize("ch", ["ç", "`", "\t", "á", "í", "ó", "ú", "ê", "ï", "α", "\x00", "\u00a0", "’"])
def test_characters_often_mistaken_for_gsm(ch: str) -> None:
    c = count("Hello " + ch)
    assert c.encoding == "UCS-2"
    assert c.non_gsm == [ch]


@pytest.mark.parametrize("ch", ["Ç", "é", "è", "à", "ù", "ì", "ò", "Ä", "ß", "Δ", "¤", "§", "¿", "\n", "\r", "@", "$"])
def test_lookalikes_that_are_gsm(ch: str) -> None:
    assert count("Hello " + ch).encoding == "GSM-7"


def test_non_gsm_lists_each_character_once_sorted() -> None:
    assert count("ç😀çá").non_gsm == sorted({"ç", "😀", "á"})


# --- vectorised form --------------------------------------------------------------------------


def _random_texts(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    pools = ["abc ", "abc€{", "abcé😀", "abc €{😀éç\t", "😀a", "€", "ab\u00a0"]
    lengths = [0, 1, 66, 67, 68, 69, 70, 71, 134, 135, 151, 152, 153, 154, 159, 160, 161, 305, 306, 307, 500]
    return [
        "".join(rng.choice(pool) for _ in range(rng.choice(lengths))) for pool in (rng.choice(pools) for _ in range(n))
    ]


def test_count_series_matches_count_exactly() -> None:
    texts = _random_texts(5000)
    frame = count_series(pd.Series(texts), with_non_gsm=True)
    expected = [count(t) for t in texts]
    assert frame["encoding"].astype(str).tolist() == [c.encoding for c in expected]
    assert frame["segments"].tolist() == [c.segments for c in expected]
    assert frame["units"].tolist() == [c.units for c in expected]
    assert frame["non_gsm"].tolist() == [c.non_gsm for c in expected]


def test_count_series_keeps_index_and_treats_missing_as_empty() -> None:
    s = pd.Series(["a" * 161, None, "á"], index=["x", "y", "z"])
    frame = count_series(s)
    assert frame.index.tolist() == ["x", "y", "z"]
    assert frame["segments"].tolist() == [2, 0, 1]
    assert frame["encoding"].astype(str).tolist() == ["GSM-7", "GSM-7", "UCS-2"]


def test_count_series_boundary_pairs() -> None:
    texts = ["a" * 152 + "€" + "b" * 152, "a" * 66 + EMOJI + "b" * 66, "€" * 153, ""]
    assert count_series(texts)["segments"].tolist() == [3, 3, 3, 0]


# --- gsm_safe ---------------------------------------------------------------------------------


def test_gsm_safe_rewrites_typography_and_saves_segments() -> None:
    text = "ACME – Black Friday: “30% off” today… it’s on" + "!" * 80  # 125 chars → UCS-2, 2 parts
    r = gsm_safe(text)
    assert r.before.encoding == "UCS-2" and r.before.segments == 2
    assert r.after.encoding == "GSM-7" and r.after.segments == 1
    assert r.saved == 1
    assert r.text.startswith('ACME - Black Friday: "30% off" today... it\'s on')
    assert set(r.replaced) == {"–", "“", "”", "…", "’"}


def test_gsm_safe_leaves_gsm_text_alone() -> None:
    r = gsm_safe("Déjà vu à 10€")
    assert r.text == "Déjà vu à 10€" and r.saved == 0 and r.replaced == []


def test_gsm_safe_spaces_zero_width_and_fullwidth() -> None:
    r = gsm_safe("a\u00a0b\u200bc\tＡＢＣ１")
    assert r.text == "a bc ABC1"
    assert r.after.encoding == "GSM-7"


def test_gsm_safe_keeps_letters_unless_asked() -> None:
    assert gsm_safe("Crème brûlée ça").after.encoding == "UCS-2"  # û, ç stay: wording is not ours to change
    r = gsm_safe("Crème brûlée ça", transliterate=True)
    assert r.text == "Crème brulée ca" and r.after.encoding == "GSM-7"


def test_gsm_safe_never_costs_more() -> None:
    # Stays UCS-2 (Chinese), and "…" → "..." would push it from 1 to 2 parts: keep the original.
    text = "优惠" * 34 + "…"
    r = gsm_safe(text)
    assert r.before.segments == 1
    assert r.after.segments == 1 and r.text == text


def test_gsm_safe_series() -> None:
    assert gsm_safe_series(pd.Series(["Don’t", None, "ok"])).tolist()[::2] == ["Don't", "ok"]


# --- CLI --------------------------------------------------------------------------------------


def test_cli_segments_json() -> None:
    result = CliRunner().invoke(cli, ["segments", "Prix: 10€ — STOP au 36180", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["encoding"] == "UCS-2" and doc["segments"] == 1 and doc["units"] == 25 and doc["non_gsm"] == ["—"]
    assert set(doc) >= {"encoding", "segments", "units", "non_gsm"}


def test_cli_segments_json_gsm_safe_hint() -> None:
    result = CliRunner().invoke(cli, ["segments", "a" * 60 + "’" + "b" * 60, "--json"])
    doc = json.loads(result.output)
    assert doc["segments"] == 2
    assert doc["gsm_safe"]["segments"] == 1 and doc["gsm_safe"]["saved"] == 1


def test_exact_parts_on_sliced_arrow_chunks() -> None:
    """The buffer-level splitter agrees with the per-character greedy split, on sliced Arrow
    arrays (non-zero offset) and across chunk edges."""
    import pyarrow as pa

    from smslab.segments import _EXT, _exact_parts, _greedy_parts

    texts = [t for t in _random_texts(400, seed=11) if t]
    gsm = [t for t in texts if count(t).encoding == "GSM-7"]
    ucs2 = [t for t in texts if count(t).encoding == "UCS-2"]
    for group, is_gsm, per_part in ((gsm, True, 153), (ucs2, False, 67)):
        arr = pa.array(["pad"] * 5 + group, type=pa.string()).slice(5)
        got = _exact_parts(arr, per_part, gsm=is_gsm, chunk_rows=7)
        sizes = (
            (lambda t: [2 if c in _EXT else 1 for c in t])
            if is_gsm
            else (lambda t: [2 if ord(c) > 0xFFFF else 1 for c in t])
        )
        assert got.tolist() == [_greedy_parts(sizes(t), per_part) for t in group]


# --- country limits (rules dataset) -----------------------------------------------------------


def test_segment_limit_comes_from_the_rules_dataset() -> None:
    from smslab.segments import over_limit, segment_limit

    assert segment_limit("FR") == 10  # FR short codes: at most 10 segments [T]
    assert over_limit("a" * (153 * 10), "FR") == (False, 10)
    assert over_limit("a" * (153 * 10 + 1), "FR") == (True, 10)
    assert segment_limit("ZZ") is None  # a country the dataset does not cover: no limit we know of
    assert over_limit("a" * 5000, "ZZ") == (False, None)
