"""smslab.sql quotes any text so DuckDB reads back exactly that text."""

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from smslab import sql

CON = duckdb.connect()  # in memory, shared by the examples (connecting per example is slow)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_a_literal_reads_back_as_the_same_text(text):
    assert CON.execute(f"SELECT {sql.literal(text)}").fetchone()[0] == text


@settings(max_examples=100, deadline=None)
@given(TEXT.filter(lambda t: t.strip() != ""))
def test_an_identifier_names_a_column_exactly(name):
    assert [d[0] for d in CON.execute(f"SELECT 1 AS {sql.ident(name)}").description] == [name]


def test_values_is_a_sorted_in_list_that_matches_each_item():
    assert sql.values({"failed", "it's", "delivered"}) == "'delivered', 'failed', 'it''s'"
    assert CON.execute(f"SELECT ? IN ({sql.values(['it' + chr(39) + 's', 'x'])})", ["it's"]).fetchone()[0]
    assert not CON.execute(f"SELECT ? IN ({sql.values(['its'])})", ["it's"]).fetchone()[0]
