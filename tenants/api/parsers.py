"""The REST API's JSON parser."""

import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

SURROGATE = re.compile("[\ud800-\udfff]")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with two more kinds of body answered as the 400 of any other malformed JSON, for every
    endpoint at once: one nested too deeply for Python's json module (RecursionError, not a ValueError), and one whose
    text holds a lone surrogate (`"\\ud800"` is valid JSON but not Unicode text: PostgreSQL cannot store it, nor the
    renderer echo it in an error)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        if (where := lone_surrogate_at(data)) is not None:
            raise ParseError(
                f"JSON parse error - {where} holds a lone surrogate (an unpaired \\ud800-\\udfff escape): not Unicode "
                "text."
            )
        return data


def lone_surrogate_at(data: object) -> str | None:
    """Where parsed JSON holds text with a lone surrogate (e.g. `zones[0].name`, `a key of payload`), None when
    nowhere. The json module joins a surrogate pair's two escapes into one character, so any surrogate left is lone."""
    stack = [("", data)]
    while stack:  # a loop, not recursion: the body may nest as deeply as the json module goes
        path, value = stack.pop()
        if isinstance(value, str):
            if SURROGATE.search(value):
                return path or "the body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if SURROGATE.search(key):
                    return f"a key of {path or 'the body'}"
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None
