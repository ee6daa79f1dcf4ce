from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from labelhub.core.text import first_unstorable


class StrictJSONParser(JSONParser):
    """DRF's JSON parser (already strict about NaN/Infinity) that also refuses, with a 400, what
    the database could not store: pathological nesting, NUL characters and lone surrogates anywhere
    in the body (free-form objects such as rankings and drafts included, not only serializer fields)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
        problem = first_unstorable(data)
        if problem:
            raise ParseError(f"JSON body refused: {problem}.")
        return data
