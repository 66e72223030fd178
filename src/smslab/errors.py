"""The exceptions smslab raises for user mistakes.

    SmslabError              every user-facing error; the CLI prints it as one line, no traceback
     ├── SpecError           a campaign spec that does not validate
     ├── InputError          an input file (audience, report, price sheet, rules) that cannot be read
     ├── NotAvailableError   a command or feature that is not built yet
     ├── ProviderError       a provider refused or could not be reached
     └── DatabaseLockedError another process held the database longer than --wait (exit code 4)

Every message names the file, the place and the fix, for example:
    SpecError("campaign.yaml: senders.FR.type: expected one of short_code, long_code, toll_free, alphanumeric")
"""


class SmslabError(Exception):
    """Base of every error smslab reports to a user."""


class SpecError(SmslabError):
    """A campaign spec is invalid."""


class InputError(SmslabError):
    """An input file cannot be used as it is."""


class NotAvailableError(SmslabError):
    """A command whose capability is not built yet."""


class ProviderError(SmslabError):
    """A provider could not be used (missing credentials, refused request…)."""


class DatabaseLockedError(SmslabError):
    """Another process kept the DuckDB file locked for longer than the wait allowed."""
