"""Evaluation set API (EVALUATE: project admins and engineers).

Routes of this module are listed in `routes` (joined in evaluation/apis/__init__.py)."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.fields import IdField
from labelhub.api.utils import check_query_params, validated_input
from labelhub.core.ids import parse_cursor
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_access

from ..selectors import sets as selectors
from ..selectors.runs import evaluation_runs
from ..services import sets as services

PROMPT_IDS_PAGE = 1000


class ScoreOutput(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True, required=False)
    high = serializers.FloatField(allow_null=True, required=False)
    n = serializers.IntegerField(allow_null=True, required=False)


class SelectionOutput(serializers.Serializer):
    """A set's selection; a key the set was made without (an older or hand-made set) reads as its default."""

    tags = serializers.ListField(child=serializers.CharField(), default=list)
    track = serializers.CharField(allow_blank=True, default="")
    prompt_ids = serializers.ListField(child=serializers.IntegerField(), default=list)
    sample = serializers.IntegerField(allow_null=True, default=None)
    seed = serializers.IntegerField(
        allow_null=True, default=None, help_text="The seed the sample was drawn with (drawn if none given)."
    )


class EvaluationSetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    description = serializers.CharField(allow_blank=True)
    selection = SelectionOutput()
    prompt_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()

    def get_created_by(self, obj) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id and obj.created_by else None


class EvaluationSetListItemOutput(EvaluationSetOutput):
    run_count = serializers.IntegerField()
    latest_run_number = serializers.IntegerField(allow_null=True)
    latest_score = serializers.SerializerMethodField()

    @extend_schema_field(ScoreOutput(allow_null=True))
    def get_latest_score(self, obj) -> dict | None:
        score = selectors.report_score(obj.latest_report)
        return ScoreOutput(score).data if score else None


class RunSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.CharField()
    model_config_id = serializers.IntegerField()
    baseline_kind = serializers.CharField()
    score = serializers.SerializerMethodField()
    finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(ScoreOutput(allow_null=True))
    def get_score(self, obj) -> dict | None:
        score = selectors.run_score(obj)
        return ScoreOutput(score).data if score else None


class PromptIdsPageOutput(serializers.Serializer):
    results = serializers.ListField(child=serializers.IntegerField())
    next_after = serializers.IntegerField(allow_null=True, help_text="Pass as prompts_after for the next page.")


class EvaluationSetDetailOutput(EvaluationSetOutput):
    prompt_ids = PromptIdsPageOutput(help_text=f"The set's prompt ids, ascending, {PROMPT_IDS_PAGE} a page.")
    runs = RunSummaryOutput(many=True)


class EvaluationSetListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
        tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=20, required=False)
        track = serializers.CharField(max_length=40, required=False, allow_blank=True)
        prompt_ids = serializers.ListField(child=IdField(), max_length=100_000, required=False)
        sample = serializers.IntegerField(min_value=1, required=False, allow_null=True)
        seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)
        references = serializers.DictField(
            child=serializers.CharField(max_length=100_000, trim_whitespace=False),
            required=False,
            help_text="{prompt id or external id: reference answer}, for prompts of the selection.",
        )

    @extend_schema(responses=EvaluationSetListItemOutput(many=True), summary="A project's evaluation sets")
    def get(self, request, project_id):
        check_query_params(request, set())
        access = project_access(user=request.user, project_id=project_id, capability=Capability.EVALUATE)
        sets = selectors.evaluation_sets(project=access.project).select_related("created_by")
        return Response({"results": EvaluationSetListItemOutput(sets, many=True).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: EvaluationSetOutput},
        summary="Freeze a selection of prompts as an evaluation set (its prompts become held out)",
        examples=[
            OpenApiExample(
                "200 hard maths prompts",
                value={"name": "maths-hard", "tags": ["math", "hard"], "sample": 200, "seed": 7},
                request_only=True,
            )
        ],
    )
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.EVALUATE)
        data = validated_input(self.InputSerializer, request.data)
        created = services.evaluation_set_create(project=access.project, user=request.user, **data)
        return Response(EvaluationSetOutput(created).data, status=status.HTTP_201_CREATED)


class EvaluationSetDetailApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("prompts_after", int, description="The page of prompt ids after this id.")],
        responses=EvaluationSetDetailOutput,
        summary="An evaluation set: selection, prompt ids (paged) and its runs",
    )
    def get(self, request, set_id):
        check_query_params(request, {"prompts_after"})
        evaluation_set = selectors.evaluation_set_get(user=request.user, set_id=set_id)
        after = parse_cursor(request.query_params.get("prompts_after"), field="prompts_after")
        ids = selectors.evaluation_set_prompt_ids(evaluation_set=evaluation_set, after=after, size=PROMPT_IDS_PAGE + 1)
        page = {
            "results": ids[:PROMPT_IDS_PAGE],
            "next_after": ids[PROMPT_IDS_PAGE - 1] if len(ids) > PROMPT_IDS_PAGE else None,
        }
        runs = evaluation_runs(evaluation_set=evaluation_set).reverse()
        body = {**EvaluationSetOutput(evaluation_set).data, "prompt_ids": page}
        body["runs"] = RunSummaryOutput(runs, many=True).data
        return Response(body)

    @extend_schema(
        responses={204: None},
        summary="Delete an evaluation set without runs (409 with runs); its prompts stay held out only in another set",
    )
    def delete(self, request, set_id):
        evaluation_set = selectors.evaluation_set_get(user=request.user, set_id=set_id)
        services.evaluation_set_delete(evaluation_set=evaluation_set)
        return Response(status=status.HTTP_204_NO_CONTENT)


routes = [
    path(
        "v1/projects/<id:project_id>/evaluation-sets",
        EvaluationSetListCreateApi.as_view(),
        name="evaluation-sets",
    ),
    path("v1/evaluation-sets/<id:set_id>", EvaluationSetDetailApi.as_view(), name="evaluation-set"),
]
