"""The triage API (TRIAGE: admins, reviewers): a run's triage items, and a decision on one item.
Nothing here names a model config or a labeler."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.fields import IdField
from labelhub.api.pagination import Pagination
from labelhub.api.utils import check_query_params, validated_input
from labelhub.core.exceptions import ApplicationError

from ..models import TriageReason, TriageStatus
from ..selectors import triage as selectors
from ..services.triage import DECISIONS, triage_decide


class TriageItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    run_id = serializers.IntegerField()
    prompt_id = serializers.IntegerField()
    candidate_id = serializers.IntegerField(help_text="The condemned answer (of the model under test).")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="lost | flagged | unsafe | all_bad")
    flags = serializers.ListField(child=serializers.CharField())
    track = serializers.CharField()
    status = serializers.CharField()
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
    note = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)
    fix_work_item_id = serializers.IntegerField(
        allow_null=True, help_text="The demonstration task a fix made (served to labelers)."
    )


FILTERS = {"status": TriageStatus.values, "reason": TriageReason.values}


def _filters(request) -> selectors.TriageFilters:
    check_query_params(request, {"status", "reason", "track", "flag", "page", "page_size"})
    values = {key: request.query_params.get(key, "") for key in ("status", "reason", "track", "flag")}
    for key, allowed in FILTERS.items():
        if values[key] and values[key] not in allowed:
            raise ApplicationError(
                f"{key}: {values[key]!r} is not one of {', '.join(allowed)}.", extra={"fields": {key: ["Unknown."]}}
            )
    return selectors.TriageFilters(**values)


class RunTriageApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter(name, str, required=False) for name in ("status", "reason", "track", "flag")],
        responses=TriageItemOutput(many=True),
        summary="The triage items of an evaluation run (admins, reviewers)",
    )
    def get(self, request, run_id):
        run = selectors.triage_run_get(user=request.user, run_id=run_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.triage_items(run=run, filters=_filters(request)), request, view=self
        )
        return paginator.get_paginated_response(TriageItemOutput(page, many=True).data)


class TriageDecideApi(APIView):
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=list(DECISIONS))
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        duplicate_of = IdField(required=False, allow_null=True)

    @extend_schema(
        request=InputSerializer,
        responses=TriageItemOutput,
        summary="Decide a triage item: fix (makes a demonstration task), wont_fix or duplicate (admins, reviewers)",
    )
    def post(self, request, item_id):
        item = selectors.triage_item_get(user=request.user, item_id=item_id)
        data = validated_input(self.InputSerializer, request.data)
        decided = triage_decide(
            item=item,
            user=request.user,
            status=data["status"],
            note=data.get("note", ""),
            duplicate_of=data.get("duplicate_of"),
        )
        return Response(TriageItemOutput(decided).data)


routes = [
    path("v1/evaluation-runs/<id:run_id>/triage", RunTriageApi.as_view(), name="evaluation-run-triage"),
    path("v1/triage-items/<id:item_id>", TriageDecideApi.as_view(), name="triage-item"),
]
