"""A JSON parser for money: numbers become ``Decimal`` (never ``float``), ``NaN`` and
``Infinity`` are refused, and bodies are small."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

#: The payment endpoints take small bodies; anything larger is refused unread.
MAX_BODY_BYTES = 64 * 1024


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = format_lazy(_("Request body is larger than {bytes} bytes."), bytes=MAX_BODY_BYTES)
    default_code = "request_too_large"


def is_storable(value: Any) -> bool:
    """Whether every string in a parsed JSON value can be stored by PostgreSQL as text and
    JSON: no NUL character, no lone surrogate. Iterative, so nesting costs no recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _require_utf8(encoding: str | None, media_type: str | None) -> None:
    """JSON is UTF-8 (RFC 8259). Any other ``charset`` in the request's ``Content-Type`` is a
    415: decoding with a codec the client names would let it pick ``bz2`` or ``zlib`` and
    inflate a tiny body into gigabytes before any size check."""
    if not encoding:
        return
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = ""
    if name not in ("utf-8", "ascii"):
        raise UnsupportedMediaType(
            media_type or "application/json",
            detail=gettext_now("Unsupported charset %(charset)s: send JSON as UTF-8.")
            % {"charset": repr(encoding[:40])},
        )


class DecimalJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        if request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                raise ParseError(gettext_now("Invalid Content-Length header.")) from None
            if length > MAX_BODY_BYTES:
                raise RequestTooLarge()
        _require_utf8(parser_context.get("encoding"), media_type)
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise RequestTooLarge()
        try:
            data = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(gettext_now("JSON parse error - %(error)s") % {"error": exc}) from None
        if not is_storable(data):
            raise ParseError(gettext_now("JSON contains NUL characters or invalid Unicode."))
        return data
