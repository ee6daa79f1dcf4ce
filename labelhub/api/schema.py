"""OpenAPI schema tweaks for drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    """Name nested `InputSerializer` / `OutputSerializer` classes after their API class
    (`GuidelineDraftApi.InputSerializer` → `GuidelineDraftInput`), so components never collide."""

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else serializer.__class__
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer and inner in ("InputSerializer", "OutputSerializer"):
            return outer.split(".")[-1].removesuffix("Api") + name
        return name


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "labelhub.accounts.authentication.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: create a key on your profile page or with `manage.py create_api_token`.",
        }
