"""The exceptions smslab raises for user mistakes.

    SmslabError              every user-facing error; the CLI prints it as one line, no traceback
     ├── SpecError           a campaign spec that does not validate
     ├── InputError          an input file (audience, report, price sheet, rules) that cannot be read;
     │                       its `path`, `line` and `column` fields say where
     ├── NotAvailableError   a command or feature that is not built yet
     ├── ProviderError       a provider refused or could not be reached
     │    ├── TransientError       refused for now (HTTP 429/503, ESME_RTHROTTLED…): the sender retries
     │    └── AuthenticationError  the provider refused the credentials: the run stops
     └── DatabaseLockedError another process held the database longer than --wait (exit code 4)

Every message names the file, the place and the fix, for example:
    SpecError("campaign.yaml: senders.FR.type: expected one of short_code, long_code, toll_free, alphanumeric")
"""

from __future__ import annotations

import re


class SmslabError(Exception):
    """Base of every error smslab reports to a user."""


class SpecError(SmslabError):
    """A campaign spec is invalid."""


_PLACE = re.compile(
    r"^(?P<path>[^\n]+?): (?:row \d+ \()?line (?P<line>\d+)\)?"
    r"(?:, column (?P<column>'[^']*'|\d+))?:"
)


class InputError(SmslabError):
    """An input file cannot be used as it is; `path`, `line` and `column` say where.

    Give them explicitly, or write the message in the usual "PATH: line N, column C: problem"
    form and they are read from it (any of them may be None: a whole-file problem has no line).

    Example:
        >>> e = InputError("audience.csv: line 3, column 'msisdn': empty; give a number or drop the row")
        >>> e.path, e.line, e.column
        ('audience.csv', 3, 'msisdn')
        >>> InputError("missing.csv: no such file", path="missing.csv").line is None
        True
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, column: str | int | None = None
    ) -> None:
        super().__init__(message)
        place = _PLACE.match(str(message))
        if place is not None:
            path = path if path is not None else place["path"]
            line = line if line is not None else int(place["line"])
            if column is None and place["column"] is not None:
                raw = place["column"]
                column = raw.strip("'") if raw.startswith("'") else int(raw)
        self.path, self.line, self.column = path, line, column


class NotAvailableError(SmslabError):
    """A command whose capability is not built yet."""


class ProviderError(SmslabError):
    """A provider could not be used (missing credentials, refused request…)."""


class DatabaseLockedError(SmslabError):
    """Another process kept the DuckDB file locked for longer than the wait allowed."""


class TransientError(ProviderError):
    """The provider refused a whole batch for now (HTTP 429/503, ESME_RTHROTTLED…): try again later.

    `not_sent` is True when the provider certainly did not act on the request (429, 503,
    a refused connection), so even a non-idempotent provider may get the batch again; False
    when the outcome is unknown (500, 502, 504, a timeout after the request left), in which case
    only an idempotent provider is retried. `retry_after` is the provider's hint in seconds.

    Example:
        >>> TransientError("HTTP 429 TOO_MANY_REQUESTS", retry_after=2).not_sent
        True
    """

    def __init__(
        self, message: str, *, not_sent: bool = True, retry_after: float | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.not_sent = not_sent
        self.retry_after = retry_after
        self.code = code or message


class AuthenticationError(ProviderError):
    """The provider refused our credentials: the run stops, unsent messages stay queued.

    `results`, when given, are the answers for a batch the provider had partly sent already.
    """

    def __init__(self, message: str, *, results: list | None = None) -> None:
        super().__init__(message)
        self.results = results
