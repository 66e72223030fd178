"""The four sender types smslab knows, defined once.

The rules dataset (`smslab.rules`) says which of them a country allows, the campaign spec
(`smslab.campaign`) picks one per country, and the price sheets (`smslab.pricing`) price each
of them: all three import this module, which imports nothing of smslab's, so none of them
has to depend on another just to spell the list.

Example:
    >>> from smslab.senders import SENDER_TYPES
    >>> SENDER_TYPES
    ('short_code', 'long_code', 'toll_free', 'alphanumeric')
"""

from __future__ import annotations

from typing import Literal, get_args

#: a sender type, as the type checker and pydantic see it
SenderType = Literal["short_code", "long_code", "toll_free", "alphanumeric"]
#: the same four, in the order reports and the planner list them
SENDER_TYPES: tuple[SenderType, ...] = get_args(SenderType)

__all__ = ["SENDER_TYPES", "SenderType"]
