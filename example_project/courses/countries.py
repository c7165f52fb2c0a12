"""The buyer's country at the checkout: where Stripe Tax taxes the course.

A short list of the countries ApraNova sells to, named in the reader's language; the package
takes any ISO 3166 code, so a school adds what it needs. The default follows the request: the
region of the browser's language (``en-GB`` → GB) when it is in the list, else the country of
the page's language (Hindi → India).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

#: ISO 3166 code → name. Stripe needs a postal code for US and CA (``NEEDS_POSTAL_CODE``).
COUNTRIES = {
    "AU": _("Australia"),
    "BR": _("Brazil"),
    "CA": _("Canada"),
    "FR": _("France"),
    "DE": _("Germany"),
    "IN": _("India"),
    "IE": _("Ireland"),
    "IT": _("Italy"),
    "JP": _("Japan"),
    "NL": _("Netherlands"),
    "SG": _("Singapore"),
    "ES": _("Spain"),
    "AE": _("United Arab Emirates"),
    "GB": _("United Kingdom"),
    "US": _("United States"),
}
NEEDS_POSTAL_CODE = ("US", "CA")
#: The country of a page's language when the browser names no region we list.
LANGUAGE_COUNTRIES = {"hi": "IN", "en": "US"}


def choices() -> list[tuple[str, str]]:
    """``(code, name)`` sorted by the name in the active language."""
    return sorted(((code, str(name)) for code, name in COUNTRIES.items()), key=lambda item: item[1])


def default_country(request: HttpRequest) -> str:
    """The country the checkout preselects for ``request``."""
    language = (get_language() or "en").split("-")[0]
    for entry in request.META.get("HTTP_ACCEPT_LANGUAGE", "").split(","):
        tag = entry.split(";")[0].strip().replace("_", "-")
        base, _sep, region = tag.partition("-")
        if base.lower() == language and region.upper() in COUNTRIES:
            return region.upper()
    return LANGUAGE_COUNTRIES.get(language, "US")
