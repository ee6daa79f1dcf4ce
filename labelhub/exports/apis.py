"""Export endpoints: streamed JSONL datasets and frozen snapshots (project admins and engineers)."""

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.pagination import NewestFirstCursorPagination
from labelhub.api.utils import check_query_params
from labelhub.core.exceptions import ApplicationError, Conflict, NotFound
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_access

from . import selectors, services
from .models import ExportSnapshot, SnapshotStatus
from .params import CONSENSUS, FORMATS, KINDS, NOTE_HEADER, PAIRS, REVIEW, SPLITS, allowed_keys, normalise_body

JSONL = "application/jsonl"


class JSONLinesRenderer(BaseRenderer):
    """Lets clients send `Accept: application/jsonl`; the body itself is streamed by the view."""

    media_type = JSONL
    format = "jsonl"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data, accepted_media_type, renderer_context)


def _parameters(kind: str) -> list[OpenApiParameter]:
    docs = {
        "format": (str, list(FORMATS[kind]), f"Default {FORMATS[kind][0]}."),
        "guideline_version": (str, None, "One (3), several (2,3) or a lower bound (>=2)."),
        "since": (OpenApiTypes.DATETIME, None, "Labels created at or after (ISO 8601 date or date-time)."),
        "until": (OpenApiTypes.DATETIME, None, "Labels created before."),
        "track": (str, None, "Tracks of the project's labeling schemas; one or several, comma-separated."),
        "labeler": (str, None, "Only these labelers (user ids or usernames, comma-separated)."),
        "exclude_labeler": (str, None, "Leave these labelers out."),
        "split": (str, list(SPLITS), "Deterministic by a hash of the prompt: a prompt is never in both."),
        "test_ratio": (float, None, "Share of prompts in the test split (default 0.1)."),
        "consensus": (str, list(CONSENSUS[kind]), "none: one row per labeler; majority: only what most agree on."),
        "metadata": (bool, None, "Add a metadata object per row (ids, models, sampling, labeler, version, times)."),
        "review": (str, list(REVIEW), "Default not-rejected: labels rejected in review never leave."),
        "pairs": (str, list(PAIRS), "Which pairs a ranking gives (default all)."),
        "include_edits": (bool, None, "Add edited-ideal-beats-original pairs from fix-the-candidate demonstrations."),
        "exclude_quarantined": (bool, None, "Default true: labels of quarantined labelers never leave."),
        "include_held_out": (
            bool,
            None,
            "Default false: labels of prompts held out for evaluation (an evaluation set holds them) never "
            "leave; fix-it items' labels always do. A snapshot's manifest counts the rows left out (held_out).",
        ),
    }
    return [
        OpenApiParameter(key, docs[key][0], enum=docs[key][1], description=docs[key][2]) for key in allowed_keys(kind)
    ]


def _raw(request) -> dict[str, list[str]]:
    return {key: request.query_params.getlist(key) for key in request.query_params}


def _filename(project_id: int, kind: str, fmt: str) -> str:
    return f"labelhub-project{project_id}-{kind}-{fmt}.jsonl"


class ExportApi(APIView):
    """GET /projects/{id}/exports/{kind}.jsonl: the whole dataset, streamed in one database snapshot."""

    kind = ""
    renderer_classes = [JSONRenderer, JSONLinesRenderer]

    def get(self, request, project_id):
        access = selectors.export_access(user=request.user, project_id=project_id)
        params = selectors.export_params_for_project(project=access.project, kind=self.kind, raw=_raw(request))
        response = StreamingHttpResponse(
            selectors.export_stream(project=access.project, params=params),
            content_type=f"{JSONL}; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{_filename(access.project.pk, params.kind, params.format)}"'
        )
        response["Cache-Control"] = "no-store"
        # Proxies must pass rows on as they come (nginx buffers otherwise).
        response["X-Accel-Buffering"] = "no"
        for note in params.notes():  # e.g. what consensus=majority does with single-labeler items
            response[NOTE_HEADER] = note
        return response


def _export_view(kind: str, summary: str):
    def get(self, request, project_id):
        return ExportApi.get(self, request, project_id)

    get = extend_schema(
        operation_id=f"export_{kind}",
        summary=summary,
        parameters=_parameters(kind),
        responses={
            (200, JSONL): OpenApiResponse(OpenApiTypes.STR, description="One JSON object per line."),
            400: OpenApiResponse(description="Unknown parameter or value; `extra.allowed` lists the allowed ones."),
            404: OpenApiResponse(description="No such project, or not an admin/engineer in it."),
        },
    )(get)
    return type(f"{kind.title()}ExportApi", (ExportApi,), {"kind": kind, "get": get, "__doc__": summary})


SftExportApi = _export_view("sft", "Demonstrations for supervised fine-tuning.")
PreferencesExportApi = _export_view("preferences", "Chosen/rejected pairs for reward models, DPO and friends.")
KtoExportApi = _export_view("kto", "Unpaired desirable/undesirable completions (KTO).")
RankingsExportApi = _export_view("rankings", "Every compared item with its candidates and every labeler's judgment.")


class SnapshotOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    format = serializers.CharField()
    params = serializers.DictField(child=serializers.CharField(), help_text="The options, normalised.")
    status = serializers.ChoiceField(choices=SnapshotStatus.choices)
    progress = serializers.SerializerMethodField()
    rows = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    manifest = serializers.JSONField()
    error = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.SerializerMethodField()

    def get_progress(self, obj) -> dict:
        return services.snapshot_progress(obj)

    def get_download_url(self, obj) -> str | None:
        if obj.status != SnapshotStatus.DONE:
            return None
        return f"/api/v1/projects/{obj.project_id}/snapshots/{obj.pk}/download"


class SnapshotInput(serializers.Serializer):
    """Documentation of the body: `kind`, then the same options as the matching export endpoint."""

    kind = serializers.ChoiceField(choices=list(KINDS))
    format = serializers.CharField(required=False)
    guideline_version = serializers.CharField(required=False)
    track = serializers.ListField(child=serializers.CharField(), required=False)
    metadata = serializers.BooleanField(required=False)
    split = serializers.ChoiceField(choices=list(SPLITS), required=False)


class SnapshotListCreateApi(APIView):
    @extend_schema(responses=SnapshotOutput(many=True), summary="Snapshots of the project, newest first.")
    def get(self, request, project_id):
        check_query_params(request, {"cursor", "page_size"})
        access = selectors.export_access(user=request.user, project_id=project_id)
        qs = ExportSnapshot.objects.filter(project=access.project).select_related("created_by").order_by("-id")
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(SnapshotOutput(page, many=True).data)

    @extend_schema(
        request=SnapshotInput,
        responses={202: SnapshotOutput},
        summary="Freeze an export into a file, written by a worker; poll the snapshot, then download it.",
    )
    def post(self, request, project_id):
        access = selectors.export_access(user=request.user, project_id=project_id)
        if not isinstance(request.data, dict):
            raise ApplicationError("Expected a JSON object with a kind and the export options.")
        data = dict(request.data)
        kind = data.pop("kind", None)
        if kind not in KINDS:
            raise ApplicationError(
                "kind: one of " + ", ".join(KINDS) + ".",
                extra={"allowed": list(KINDS), "fields": {"kind": ["Required."]}},
            )
        snapshot = services.snapshot_create(
            project=access.project, user=request.user, kind=kind, raw=normalise_body(data)
        )
        return Response(SnapshotOutput(snapshot).data, status=status.HTTP_202_ACCEPTED)


def _snapshot(request, project_id, snapshot_id) -> ExportSnapshot:
    access = selectors.export_access(user=request.user, project_id=project_id)
    snapshot = (
        ExportSnapshot.objects.select_related("created_by").filter(project=access.project, pk=snapshot_id).first()
    )
    if snapshot is None:
        raise NotFound("Snapshot not found.")
    return snapshot


class SnapshotDetailApi(APIView):
    @extend_schema(responses=SnapshotOutput, summary="A snapshot: status, progress and, when done, its manifest.")
    def get(self, request, project_id, snapshot_id):
        check_query_params(request, set())
        return Response(SnapshotOutput(_snapshot(request, project_id, snapshot_id)).data)

    @extend_schema(responses={204: None}, summary="Delete a snapshot and its file (project admins; retention).")
    def delete(self, request, project_id, snapshot_id):
        snapshot = _snapshot(request, project_id, snapshot_id)
        project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        services.snapshot_delete(snapshot=snapshot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SnapshotDownloadApi(APIView):
    renderer_classes = [JSONRenderer, JSONLinesRenderer]

    @extend_schema(
        responses={(200, JSONL): OpenApiResponse(OpenApiTypes.BINARY, description="The frozen JSONL file.")},
        summary="The snapshot file, byte for byte as written (its SHA-256 is in X-Labelhub-SHA256).",
    )
    def get(self, request, project_id, snapshot_id):
        check_query_params(request, set())
        snapshot = _snapshot(request, project_id, snapshot_id)
        return snapshot_file_response(snapshot)


def snapshot_file_response(snapshot: ExportSnapshot) -> FileResponse:
    """The stored file as an attachment (shared by the API and the web page)."""
    if snapshot.status != SnapshotStatus.DONE:
        raise Conflict(f"The snapshot is {snapshot.status}; it can be downloaded once done.")
    path = services.snapshot_path(snapshot)
    if path is None or not path.is_file():
        raise NotFound("The snapshot file is missing from storage.")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=snapshot.filename, content_type=JSONL)
    response["X-Labelhub-SHA256"] = snapshot.sha256
    response["ETag"] = f'"{snapshot.sha256}"'
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
