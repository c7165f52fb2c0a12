"""Where Stripe Checkout may send the customer back to: no open redirect.

``successUrl`` and ``cancelUrl`` are absolute ``http(s)`` URLs whose host is one of
``ALLOWED_HOSTS`` or ``CHECKOUT_REDIRECT_HOSTS`` (``.example.com`` covers its subdomains, as
in ``ALLOWED_HOSTS``; ``*`` is never honoured here). Browsers and URL parsers disagree on the
edges, so anything they might read differently is refused outright: backslashes, control
characters and spaces, user info (``https://good.example@evil.example/``), scheme-relative
``//evil``. A host is compared in its ASCII (IDNA) form, so ``bücher.example`` and
``xn--bcher-kva.example`` are one host and a look-alike in another script is another.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http.request import validate_host
from django.utils.translation import gettext as _

from .conf import app_settings

#: The longest redirect URL accepted (Stripe's limit on ``success_url`` is 5,000).
MAX_URL_LENGTH = 2048


class UnsafeRedirect(ValueError):
    """The URL may not be used as a Checkout redirect; its message says why."""


def checked_url(url: object) -> str:
    """``url`` as it is sent to Stripe (its host in ASCII form), or ``UnsafeRedirect``."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeRedirect(_("An absolute http or https URL of at most %(length)d characters is required.")
                             % {"length": MAX_URL_LENGTH})
    if "\\" in url or any(char.isspace() or not char.isprintable() for char in url):
        raise UnsafeRedirect(_("The URL may not contain backslashes, spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeRedirect(_("This is not a valid URL.")) from exc
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise UnsafeRedirect(_("An absolute http or https URL is required."))
    if "@" in parts.netloc:
        raise UnsafeRedirect(_("The URL may not contain a user name or password."))
    host = ascii_host(parts.hostname)
    if host is None or not _allowed(host):
        raise UnsafeRedirect(_("The host of this URL is not allowed."))
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def ascii_host(host: str) -> str | None:
    """``host`` lower-cased in its IDNA (punycode) form; ``None`` when it has none."""
    host = host.rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _allowed(host: str) -> bool:
    patterns = [*settings.ALLOWED_HOSTS, *app_settings.CHECKOUT_REDIRECT_HOSTS]
    allowed = [pattern for pattern in map(_ascii_pattern, patterns) if pattern and pattern != "*"]
    return validate_host(host, allowed)


def _ascii_pattern(pattern: str) -> str | None:
    if not isinstance(pattern, str):
        return None
    if pattern.startswith("."):
        rest = ascii_host(pattern[1:])
        return None if rest is None else f".{rest}"
    return ascii_host(pattern) if pattern != "*" else pattern
