"""Serializer fields for input from clients."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labelhub.core.ids import InvalidId, parse_id


@extend_schema_field(OpenApiTypes.INT)
class IdField(serializers.Field):
    """An id in a JSON body, through core.ids: a JSON integer or a string of ASCII digits within bigint.
    DRF's IntegerField takes "١٢" (int() does), "7.0" and ids beyond bigint."""

    default_error_messages = {"invalid": "An id: a whole number written in ASCII digits 0-9."}

    def to_internal_value(self, data) -> int:
        try:
            return parse_id(data, field=self.field_name or "id")
        except InvalidId:
            self.fail("invalid")

    def to_representation(self, value) -> int:
        return int(value)
