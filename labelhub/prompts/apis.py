from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.pagination import NewestFirstCursorPagination
from labelhub.api.utils import check_query_params
from labelhub.core.exceptions import ApplicationError
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_access, project_schema

from . import selectors, services
from .models import ImportStatus, MessageRole


class PromptSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    text = serializers.CharField(help_text="The last user message.")
    track = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    candidate_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class MessageOutput(serializers.Serializer):
    role = serializers.ChoiceField(choices=MessageRole.choices)
    content = serializers.CharField()


class CandidateOutput(serializers.Serializer):
    """A candidate as labelers and reviewers see it: nothing about which model wrote it."""

    id = serializers.IntegerField()
    content = serializers.CharField()


class CandidateProvenanceOutput(CandidateOutput):
    """A candidate with everything stored about where it came from (selectors.candidate_provenance),
    for roles that may see provenance (admins, engineers)."""

    source = serializers.CharField()
    model_name = serializers.CharField(help_text="The model id the server reported (or the one asked for).")
    model_requested = serializers.CharField(allow_null=True)
    model_reported = serializers.CharField(allow_null=True)
    config_id = serializers.IntegerField(allow_null=True)
    config_name = serializers.CharField(allow_null=True)
    sampling = serializers.JSONField(allow_null=True, help_text="temperature, top_p, max_tokens, seed, stop")
    seed = serializers.IntegerField(allow_null=True)
    system_prompt = serializers.CharField(allow_null=True)
    finish_reason = serializers.CharField(allow_null=True)
    prompt_tokens = serializers.IntegerField(allow_null=True)
    completion_tokens = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    generated_at = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    sanitized = serializers.JSONField(allow_null=True, help_text="NUL / lone surrogate counts made storable")
    raw_escaped = serializers.CharField(allow_null=True, help_text="The exact raw text as a JSON string literal")
    provenance = serializers.JSONField(help_text="The provenance JSON stored with the candidate, as stored.")


class _PromptDetailFields(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    messages = MessageOutput(many=True)
    track = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.JSONField()
    content_hash = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()


class PromptDetailOutput(_PromptDetailFields):
    """A prompt as labelers and reviewers see it: candidates without provenance."""

    candidates = CandidateOutput(many=True, source="candidates_list")


class PromptDetailProvenanceOutput(_PromptDetailFields):
    """A prompt as admins and engineers see it: candidates with their full provenance."""

    candidates = CandidateProvenanceOutput(many=True, source="candidates_list")


class PromptListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("track", str, description="A track of the project's labeling schema."),
            OpenApiParameter("tag", str),
            OpenApiParameter("q", str, description="Search in the last user message"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("page_size", int),
        ],
        responses=PromptSummaryOutput(many=True),
        summary="Prompts of a project (newest first, cursor-paginated)",
    )
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id)
        check_query_params(request, {*selectors.FILTER_KEYS, "cursor", "page_size"})
        track = request.query_params.get("track", "")
        allowed = project_schema(project=access.project).track_names
        if track and track not in allowed:
            raise ApplicationError("Unknown track.", extra={"allowed": allowed})
        qs = selectors.prompt_list(
            project=access.project,
            track=track,
            tag=request.query_params.get("tag", ""),
            q=request.query_params.get("q", "")[:200],
        )
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(PromptSummaryOutput(page, many=True).data)


class PromptDetailApi(APIView):
    @extend_schema(
        responses=PromptDetailProvenanceOutput,
        description="Admins and engineers get every candidate with its full provenance; labelers and "
        "reviewers get each candidate's id and text only (which model wrote it would bias their comparisons).",
    )
    def get(self, request, project_id, prompt_id):
        access = project_access(user=request.user, project_id=project_id)
        prompt = selectors.prompt_get(project=access.project, prompt_id=prompt_id)
        candidates = list(selectors.prompt_candidates(prompt=prompt))
        if not access.can(Capability.SEE_PROVENANCE):
            prompt.candidates_list = candidates
            return Response(PromptDetailOutput(prompt).data)
        prompt.candidates_list = [
            {"id": c.pk, "content": c.content, **selectors.candidate_provenance(c)} for c in candidates
        ]
        return Response(PromptDetailProvenanceOutput(prompt).data)


class PromptImportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ImportStatus.values)
    filename = serializers.CharField()
    file_format = serializers.CharField()
    total_lines = serializers.IntegerField()
    processed_lines = serializers.IntegerField()
    percent = serializers.IntegerField()
    created = serializers.IntegerField(source="created_count")
    skipped = serializers.IntegerField(source="skipped_count")
    candidates = serializers.IntegerField(source="candidate_count")
    message = serializers.CharField()
    errors = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class _RawUploadParser(BaseParser):
    """Accept a raw JSONL/CSV body (curl --data-binary); the view streams it from the request."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class PromptImportApi(APIView):
    parser_classes = [MultiPartParser, _RawUploadParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "application/jsonl": {"type": "string", "format": "binary"},
            "text/csv": {"type": "string", "format": "binary"},
        },
        responses={201: PromptImportOutput, 202: PromptImportOutput, 400: PromptImportOutput},
        summary="Import prompts from JSONL or CSV (project admins)",
        description=(
            "All or nothing: a file with any bad line imports nothing, and the response lists every bad line. "
            "Re-importing is a no-op (dedupe by id, else by content hash). Small files are imported in the "
            "request (201, or 400 with `errors`); large ones by a worker (202; poll the `status_url`)."
        ),
        examples=[
            OpenApiExample(
                "JSONL line",
                value='{"id": "p1", "messages": [{"role": "user", "content": "Hi"}], "tags": ["greet"]}',
                request_only=True,
            )
        ],
    )
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        limit = settings.PROMPT_IMPORT_MAX_FILE_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + 64 * 1024:
            raise ApplicationError(
                f"The file is larger than the limit of {limit // (1024 * 1024)} MiB.",
                extra={"limit_bytes": limit},
                status_code=413,
            )
        content_type = request.content_type or ""
        if content_type.startswith("multipart/form-data"):
            upload = request.FILES.get("file")
            if upload is None:
                raise ApplicationError('Send the file in a multipart field named "file".')
            filename = upload.name
            chunks = upload.chunks()
        elif content_type.split(";")[0].strip() in (
            "application/jsonl",
            "application/x-ndjson",
            "application/json-lines",
            "application/x-jsonlines",
            "text/csv",
        ):
            filename = "upload.csv" if content_type.startswith("text/csv") else "upload.jsonl"
            chunks = iter(lambda: request._request.read(1 << 20), b"")
        else:
            raise ApplicationError(
                "Send multipart/form-data with a file field, or a raw body as application/jsonl or text/csv.",
                status_code=415,
            )
        imp = services.prompt_import_start(
            project=access.project, user=request.user, chunks=chunks, filename=filename, content_type=content_type
        )
        if imp.is_finished:
            body = PromptImportOutput(imp).data
            if imp.status == ImportStatus.DONE:
                return Response(body, status=status.HTTP_201_CREATED)
            return Response(
                {"message": imp.message, "extra": {"errors": imp.errors, "import": body}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = PromptImportOutput(imp).data
        body["status_url"] = request.build_absolute_uri(f"/api/v1/projects/{access.project.pk}/prompt-imports/{imp.pk}")
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PromptImportDetailApi(APIView):
    @extend_schema(responses=PromptImportOutput, summary="Progress and outcome of an import")
    def get(self, request, project_id, import_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        imp = selectors.prompt_import_get(project=access.project, import_id=import_id)
        return Response(PromptImportOutput(imp).data)
