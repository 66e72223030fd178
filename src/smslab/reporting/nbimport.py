"""nbformat, imported fast (shared by the report index, runner and export).

Example:
    >>> import_nbformat().__name__
    'nbformat'
"""

from __future__ import annotations

import sys
from typing import Any


def import_nbformat() -> Any:
    """Import nbformat without jsonschema's optional rfc3987-syntax, which compiles ~40 grammars
    at import (about 5 s per `smslab report run`) for URI formats notebook validation never uses."""
    if "nbformat" not in sys.modules and "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes its import fail fast
        try:
            import nbformat
        finally:
            sys.modules.pop("rfc3987_syntax", None)  # anyone who needs it later can still import it
    import nbformat

    return nbformat
