"""The API of evaluation runs: a set's runs (list, start), a run with its progress and report, cancel
and resume. Every route needs EVALUATE (a run names the model configs compared): 404 for
non-members, 403 for labelers and reviewers; 409 on a finished run."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.fields import IdField
from labelhub.api.utils import validated_input
from labelhub.generation.models import ModelConfig

from ..models import BaselineKind, EvaluationRun
from ..selectors.report import evaluation_report
from ..selectors.runs import evaluation_run_get, evaluation_run_progress, evaluation_runs
from ..selectors.sets import evaluation_set_get
from ..services import runs as services


def _config_ref(config) -> dict | None:
    return {"id": config.pk, "name": config.name} if config else None


def run_summary(run: EvaluationRun) -> dict:
    """A run without its progress or report (the list: constant queries whatever its length)."""
    score = ((run.report or {}).get("overall") or {}).get("score") if run.report else None
    return {
        "id": run.pk,
        "number": run.number,
        "evaluation_set": {
            "id": run.evaluation_set_id,
            "name": run.evaluation_set.name,
            "version": run.evaluation_set.version,
        },
        "status": run.status,
        "model_config": _config_ref(run.model_config),
        "baseline_kind": run.baseline_kind,
        "baseline_config": _config_ref(run.baseline_config),
        "baseline_run": {"id": run.baseline_run_id, "number": run.baseline_run.number} if run.baseline_run_id else None,
        "labels_per_pair": run.labels_per_pair,
        "sampling": run.sampling,
        "thresholds": run.thresholds,
        "score": score,
        "created_by": run.created_by.get_username() if run.created_by else None,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "cancelled_at": run.cancelled_at,
    }


def run_payload(run: EvaluationRun) -> dict:
    return {**run_summary(run), "progress": evaluation_run_progress(run=run), "report": evaluation_report(run=run)}


class RunOutput(serializers.Serializer):
    """A run (the list leaves out progress and report)."""

    id = serializers.IntegerField()
    number = serializers.IntegerField()
    evaluation_set = serializers.DictField(help_text="{id, name, version}")
    status = serializers.CharField(help_text="generating, labeling, finished or cancelled")
    model_config = serializers.DictField(help_text="{id, name}: the model under test")
    baseline_kind = serializers.CharField(help_text="config, reference or run")
    baseline_config = serializers.DictField(allow_null=True)
    baseline_run = serializers.DictField(allow_null=True, help_text="{id, number}")
    labels_per_pair = serializers.IntegerField()
    sampling = serializers.DictField(help_text='{"test": {...}, "baseline": {...}} as frozen at the start')
    thresholds = serializers.DictField()
    score = serializers.DictField(allow_null=True, help_text="the frozen report's overall score, once finished")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.DictField(
        required=False, help_text="pairs, generated, generation_failed, items, labels_done, labels_needed, percent"
    )
    report = serializers.DictField(required=False, help_text="frozen once finished, else computed now")


class _Thresholds(serializers.Serializer):
    min_win_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    max_unsafe_increase = serializers.FloatField(min_value=0, max_value=1, required=False)
    max_flag_increase = serializers.FloatField(min_value=0, max_value=1, required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and set(data) - set(self.fields):
            raise serializers.ValidationError(
                f"Unknown threshold(s): {', '.join(sorted(map(str, set(data) - set(self.fields))))}."
            )
        return super().to_internal_value(data)


class RunListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        model_config = IdField()
        baseline_kind = serializers.ChoiceField(choices=BaselineKind.choices)
        baseline_config = IdField(required=False, allow_null=True)
        baseline_run = IdField(required=False, allow_null=True)
        labels_per_pair = serializers.IntegerField(min_value=1, max_value=9, required=False, default=1)
        thresholds = _Thresholds(required=False)

    @extend_schema(responses=RunOutput(many=True), summary="A set's evaluation runs, newest first (admins, engineers)")
    def get(self, request, set_id):
        evaluation_set = evaluation_set_get(user=request.user, set_id=set_id)
        return Response({"results": [run_summary(r) for r in evaluation_runs(evaluation_set=evaluation_set)]})

    @extend_schema(
        request=InputSerializer,
        responses={201: RunOutput},
        summary="Start an evaluation run on the set (admins, engineers)",
        description="The model under test (`model_config`) against a baseline: `baseline_kind` config "
        "(`baseline_config`, another config of the project), reference (the set's reference answers: every "
        "prompt needs one) or run (`baseline_run`, a run of the same set with answers). Answers already "
        "generated by the config with the same sampling parameters are reused; the others are generated.",
    )
    def post(self, request, set_id):
        evaluation_set = evaluation_set_get(user=request.user, set_id=set_id)
        data = validated_input(self.InputSerializer, request.data)
        project = evaluation_set.project
        configs = ModelConfig.objects.filter(project=project)
        run = services.evaluation_run_create(
            evaluation_set=evaluation_set,
            user=request.user,
            model_config=configs.filter(pk=data["model_config"]).first(),
            baseline_kind=data["baseline_kind"],
            baseline_config=configs.filter(pk=data.get("baseline_config") or 0).first(),
            baseline_run=EvaluationRun.objects.filter(
                evaluation_set=evaluation_set, pk=data.get("baseline_run") or 0
            ).first(),
            labels_per_pair=data["labels_per_pair"],
            thresholds=data.get("thresholds"),
        )
        run = evaluation_run_get(user=request.user, run_id=run.pk)
        return Response(run_payload(run), status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    @extend_schema(responses=RunOutput, summary="A run: its sampling, progress and report (frozen once finished)")
    def get(self, request, run_id):
        return Response(run_payload(evaluation_run_get(user=request.user, run_id=run_id)))


class RunCancelApi(APIView):
    @extend_schema(
        request=None,
        responses=RunOutput,
        summary="Cancel a run: its items stop being served; no label is lost (409 when finished)",
    )
    def post(self, request, run_id):
        run = services.evaluation_run_cancel(
            run=evaluation_run_get(user=request.user, run_id=run_id), user=request.user
        )
        return Response(run_payload(evaluation_run_get(user=request.user, run_id=run.pk)))


class RunResumeApi(APIView):
    @extend_schema(
        request=None, responses=RunOutput, summary="Resume a cancelled run where it stopped (409 unless cancelled)"
    )
    def post(self, request, run_id):
        run = services.evaluation_run_resume(
            run=evaluation_run_get(user=request.user, run_id=run_id), user=request.user
        )
        return Response(run_payload(evaluation_run_get(user=request.user, run_id=run.pk)))


routes = [
    path("v1/evaluation-sets/<id:set_id>/runs", RunListCreateApi.as_view(), name="evaluation-set-runs"),
    path("v1/evaluation-runs/<id:run_id>", RunDetailApi.as_view(), name="evaluation-run"),
    path("v1/evaluation-runs/<id:run_id>/cancel", RunCancelApi.as_view(), name="evaluation-run-cancel"),
    path("v1/evaluation-runs/<id:run_id>/resume", RunResumeApi.as_view(), name="evaluation-run-resume"),
]
