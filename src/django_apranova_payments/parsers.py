"""A JSON parser for money: numbers become ``Decimal`` (never ``float``), ``NaN`` and
``Infinity`` are refused, and bodies are small."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

#: The payment endpoints take small bodies; anything larger is refused unread.
MAX_BODY_BYTES = 64 * 1024


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = f"Request body is larger than {MAX_BODY_BYTES} bytes."
    default_code = "request_too_large"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


class DecimalJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        if request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                raise ParseError("Invalid Content-Length header.") from None
            if length > MAX_BODY_BYTES:
                raise RequestTooLarge()
        encoding = parser_context.get("encoding", "utf-8")
        try:
            text = codecs.getreader(encoding)(stream).read(MAX_BODY_BYTES + 1)
            if len(text) > MAX_BODY_BYTES:
                raise RequestTooLarge()
            return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
