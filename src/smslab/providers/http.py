"""What the HTTP providers (Infobip, Twilio) share when they page through a list API.

Every failure is one line that says what was already saved to the journal: a provider that
cannot be reached or answers an error is a `ProviderError`; refused credentials are an
`AuthenticationError` naming the variables to check.

Example:
    >>> import httpx
    >>> client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(401, text="no")),
    ...                       base_url="http://127.0.0.1:9")
    >>> get_page(client, "/list", None, failed=lambda t: f"Demo /list: {t}",
    ...          error_text=lambda r: r.text, credentials="DEMO_KEY")
    Traceback (most recent call last):
    smslab.errors.AuthenticationError: Demo /list: the credentials were refused (HTTP 401 no); check DEMO_KEY
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from smslab.errors import AuthenticationError, ProviderError


def get_page(
    client: httpx.Client,
    url: str,
    params: dict[str, Any] | None,
    *,
    failed: Callable[[str], str],
    error_text: Callable[[httpx.Response], str],
    credentials: str,
) -> httpx.Response:
    """GET one page; `failed(text)` words a failure (with what was saved before it)."""
    try:
        response = client.get(url, params=params)
    except httpx.TransportError as exc:
        raise ProviderError(failed(f"unreachable ({type(exc).__name__}: {exc})")) from None
    if response.status_code in (401, 403):
        raise AuthenticationError(
            failed(
                f"the credentials were refused (HTTP {response.status_code} "
                f"{error_text(response)}); check {credentials}"
            )
        )
    if response.status_code >= 400:
        raise ProviderError(failed(f"HTTP {response.status_code} {error_text(response)}"))
    return response
