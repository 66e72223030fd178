"""smslab — plan, check, send and analyse two-way SMS campaigns in many countries.

Example:
    >>> import smslab
    >>> smslab.__version__
    '0.1.0'
"""
from smslab.errors import SmslabError

__version__ = "0.1.0"
__all__ = ["SmslabError", "__version__"]
