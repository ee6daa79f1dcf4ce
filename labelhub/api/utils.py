from rest_framework.exceptions import ValidationError

from labelhub.core.exceptions import ApplicationError


def validated_input(serializer_class, data) -> dict:
    """Validate a request body against an allow-list serializer: unknown keys are a 400, not ignored."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    allowed = set(serializer_class().fields)
    unknown = {str(k) for k in data} - allowed
    if unknown:
        raise ApplicationError(f"Unknown field(s): {', '.join(sorted(unknown))}.", extra={"allowed": sorted(allowed)})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def check_query_params(request, allowed: set[str]) -> None:
    unknown = set(request.query_params) - allowed
    if unknown:
        raise ApplicationError(
            f"Unknown query parameter(s): {', '.join(sorted(unknown))}.", extra={"allowed": sorted(allowed)}
        )
