"""Phone numbers: phonenumbers' answers, decided in bulk from phonenumbers' own metadata.

`normalize_one` is the reference: phonenumbers called for one input. `normalize` gives the
same answers for many inputs at once: it deduplicates, decides the common shapes (digits with
spaces, dots, dashes and parentheses, written `+CC…`, with the region's IDD prefix or
nationally) with vectorised regular expressions (RE2 through pyarrow) built from
`phonenumbers.PhoneMetadata`, the time-zone and carrier prefix maps, and hands everything
else (letters, extensions, other scripts, errors, regions with prefix transform rules) to
`normalize_one`. See docs/numbers.md.

The modules, in the order a number goes through them:

- `reference` — `normalize_one` and `COLUMNS` (phonenumbers' public API, one input);
- `bulk` — `normalize`: deduplicate, dispatch, fall back to `normalize_one`;
- `parse` — parse's steps in bulk: shapes, IDD, calling code, national prefix;
- `classify` — region, number type, validity, time zones, carrier in bulk;
- `tables` — phonenumbers' metadata compiled into regexes, length masks and prefix tables;
- `arrow_text` — string helpers over Arrow arrays;
- `phonenumbers_internals` — every use of phonenumbers' private API (and why);
- `files` — `normalize_file` (the `smslab numbers` command).

Example:
    >>> from smslab.numbers import normalize
    >>> normalize(["06 12 34 56 78"], default_region="FR").loc[0, "e164"]
    '+33612345678'
"""

from __future__ import annotations

from smslab.numbers.bulk import normalize
from smslab.numbers.files import normalize_file
from smslab.numbers.reference import COLUMNS, normalize_one

__all__ = ["COLUMNS", "normalize", "normalize_file", "normalize_one"]
