from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.fields import IdField
from labelhub.api.pagination import Pagination
from labelhub.api.utils import check_query_params, validated_input
from labelhub.core.exceptions import ApplicationError
from labelhub.integrations.inference.errors import describe
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_access

from . import selectors, services
from .models import DISPLAY_STATUSES, RETRYING, JobStatus


class ModelConfigOutput(serializers.Serializer):
    """A model config. The API key is write-only: only whether one is set is shown."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    base_url = serializers.CharField()
    model = serializers.CharField()
    has_api_key = serializers.SerializerMethodField()
    temperature = serializers.FloatField()
    top_p = serializers.FloatField()
    max_tokens = serializers.IntegerField()
    seed = serializers.IntegerField(allow_null=True)
    stop = serializers.ListField(child=serializers.CharField())
    system_prompt = serializers.CharField()
    candidates_per_prompt = serializers.IntegerField()
    is_active = serializers.BooleanField()
    timeout_seconds = serializers.IntegerField()
    last_check = serializers.SerializerMethodField()

    def get_has_api_key(self, obj) -> bool:
        return bool(obj.api_key)

    def get_last_check(self, obj) -> dict:
        """error: a classified failure, {"kind", "status"?, "reason"?, "message"}, or null."""
        error = obj.last_check_error if isinstance(obj.last_check_error, dict) and obj.last_check_error else None
        return {
            "status": obj.last_check_status or "never",
            "at": obj.last_check_at,
            "latency_ms": obj.last_check_latency_ms,
            "model_reported": obj.last_check_model,
            "error": {**error, "message": describe(error)} if error else None,
        }


class _ConfigInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    base_url = serializers.CharField(max_length=500)
    model = serializers.CharField(max_length=200)
    api_key = serializers.CharField(max_length=500, required=False, allow_blank=True, write_only=True)
    temperature = serializers.FloatField(min_value=0, max_value=2, required=False)
    top_p = serializers.FloatField(min_value=0.0001, max_value=1, required=False)
    max_tokens = serializers.IntegerField(min_value=1, max_value=32768, required=False)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=-(2**63), max_value=2**63 - 1)
    stop = serializers.ListField(child=serializers.CharField(max_length=100), max_length=4, required=False)
    system_prompt = serializers.CharField(required=False, allow_blank=True, max_length=20_000, trim_whitespace=False)
    candidates_per_prompt = serializers.IntegerField(min_value=1, max_value=9, required=False)
    is_active = serializers.BooleanField(required=False)


class ModelConfigListCreateApi(APIView):
    class InputSerializer(_ConfigInput):
        pass

    @extend_schema(responses=ModelConfigOutput(many=True), summary="Model configs of a project (admins, engineers)")
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.SEE_PROVENANCE)
        configs = selectors.model_config_list(project=access.project)
        return Response({"results": ModelConfigOutput(configs, many=True).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: ModelConfigOutput},
        summary="Add a model config (project admins)",
        examples=[
            OpenApiExample(
                "vLLM on a GPU box",
                value={
                    "name": "Llama 3.1 8B, T=0.7",
                    "base_url": "http://gpu-1.internal:8000/v1",
                    "model": "meta-llama/Llama-3.1-8B-Instruct",
                    "temperature": 0.7,
                    "max_tokens": 512,
                    "candidates_per_prompt": 2,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(self.InputSerializer, request.data)
        config = services.model_config_create(project=access.project, data=data)
        return Response(ModelConfigOutput(config).data, status=status.HTTP_201_CREATED)


class ModelConfigDetailApi(APIView):
    class InputSerializer(_ConfigInput):
        name = serializers.CharField(max_length=100, required=False)
        base_url = serializers.CharField(max_length=500, required=False)
        model = serializers.CharField(max_length=200, required=False)
        clear_api_key = serializers.BooleanField(required=False)

    @extend_schema(responses=ModelConfigOutput, summary="A model config (admins, engineers)")
    def get(self, request, project_id, config_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.SEE_PROVENANCE)
        return Response(ModelConfigOutput(selectors.model_config_get(project=access.project, config_id=config_id)).data)

    @extend_schema(
        request=InputSerializer,
        responses=ModelConfigOutput,
        summary="Change a model config (a blank api_key keeps the current one; clear_api_key removes it)",
    )
    def patch(self, request, project_id, config_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        config = selectors.model_config_get(project=access.project, config_id=config_id)
        data = validated_input(self.InputSerializer, request.data)
        clear = data.pop("clear_api_key", False)
        config = services.model_config_update(config=config, data=data)
        if clear:
            config = services.model_config_clear_api_key(config=config)
        return Response(ModelConfigOutput(config).data)

    @extend_schema(responses={204: None, 200: ModelConfigOutput}, summary="Delete (or deactivate, once used)")
    def delete(self, request, project_id, config_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        config = selectors.model_config_get(project=access.project, config_id=config_id)
        if services.model_config_delete(config=config):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ModelConfigOutput(config).data)


class ModelConfigTestApi(APIView):
    @extend_schema(
        request=None,
        responses={202: ModelConfigOutput},
        summary="Test the connection with a real 1-token completion (runs on a worker; poll the config)",
    )
    def post(self, request, project_id, config_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        config = selectors.model_config_get(project=access.project, config_id=config_id)
        config = services.model_config_check_start(config=config)
        return Response(ModelConfigOutput(config).data, status=status.HTTP_202_ACCEPTED)


class BatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    model_config = serializers.DictField()
    mode = serializers.CharField()
    target_k = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished = serializers.BooleanField()
    percent = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    completion_tokens = serializers.IntegerField()
    tokens_per_s = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    waiting_behind = serializers.IntegerField(
        allow_null=True, help_text="While none of its jobs runs: how many jobs start before its next one."
    )
    errors = serializers.ListField(child=serializers.DictField())
    retrying = serializers.ListField(
        child=serializers.DictField(), help_text="Jobs waiting to be tried again: attempts so far and the last error."
    )


def batch_payload(batch) -> dict:
    progress = selectors.batch_progress(batch=batch)
    failed = selectors.batch_jobs(batch=batch, status=JobStatus.FAILED)[:20] if progress.failed else []
    retrying = selectors.batch_jobs(batch=batch, status=RETRYING)[:20] if progress.retrying else []
    return {
        "id": batch.pk,
        "project_id": batch.project_id,
        "model_config": {"id": batch.model_config_id, "name": batch.model_config.name},
        "mode": batch.mode,
        "target_k": batch.target_k,
        "created_at": batch.created_at,
        "finished": progress.finished,
        "percent": progress.percent,
        "counts": {
            "total": progress.total,
            "queued": progress.queued,
            "retrying": progress.retrying,
            "running": progress.running,
            "done": progress.done,
            "failed": progress.failed,
        },
        "completion_tokens": progress.completion_tokens,
        "tokens_per_s": progress.tokens_per_s,
        "eta_seconds": progress.eta_seconds,
        "waiting_behind": progress.waiting_behind,
        "errors": [{"job_id": j.pk, "prompt_id": j.prompt_id, "error": j.error} for j in failed],
        "retrying": [
            {"job_id": j.pk, "prompt_id": j.prompt_id, "attempts": j.attempts, "last_error": j.error} for j in retrying
        ],
    }


class BatchListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        model_config = IdField()
        prompt_ids = serializers.ListField(child=IdField(), required=False, max_length=100_000)
        fewer_than = serializers.IntegerField(min_value=1, max_value=9, required=False)
        tag = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        track = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
        search = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        all_prompts = serializers.BooleanField(required=False, default=False)
        dry_run = serializers.BooleanField(required=False, default=False)

    class PreviewSerializer(serializers.Serializer):
        prompts = serializers.IntegerField()
        samples = serializers.IntegerField()

    @extend_schema(responses=BatchOutput(many=True), summary="Recent generation batches (admins, engineers)")
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.SEE_PROVENANCE)
        return Response({"results": [batch_payload(b) for b in selectors.batch_list(project=access.project, limit=20)]})

    @extend_schema(
        request=InputSerializer,
        responses={201: BatchOutput, 200: PreviewSerializer},
        summary="Start generating candidates (project admins)",
        description="The target: `prompt_ids` (alone), or the project's prompts narrowed by `tag`, `track` and "
        "`search` (the prompt list's filters), or `all_prompts: true`. With `fewer_than: K` each targeted prompt "
        "is topped up to K candidates (alone: every prompt); without it each gets the config's "
        "candidates_per_prompt samples. `dry_run: true` only counts: 200 with {prompts, samples}.",
    )
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(self.InputSerializer, request.data)
        config = selectors.model_config_get(project=access.project, config_id=data["model_config"])
        prompt_ids = data.get("prompt_ids")
        target = selectors.BatchTarget(
            prompt_ids=tuple(prompt_ids) if prompt_ids is not None else None,
            fewer_than=data.get("fewer_than"),
            tag=data["tag"],
            track=data["track"],
            search=data["search"],
            all_prompts=data["all_prompts"],
        )
        if data["dry_run"]:
            preview = selectors.batch_target_preview(project=access.project, config=config, target=target)
            return Response({"prompts": preview.prompts, "samples": preview.samples})
        batch = services.generation_batch_create(
            project=access.project, user=request.user, config=config, target=target
        )
        return Response(batch_payload(batch), status=status.HTTP_201_CREATED)


class BatchDetailApi(APIView):
    @extend_schema(responses=BatchOutput, summary="Progress of a batch: counts, tokens/s, ETA, errors")
    def get(self, request, batch_id):
        batch, _role = selectors.batch_get_for_user(
            user=request.user, batch_id=batch_id, capability=Capability.SEE_PROVENANCE
        )
        return Response(batch_payload(batch))


class JobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    prompt_id = serializers.IntegerField()
    sample_index = serializers.IntegerField()
    status = serializers.CharField(source="display_status", help_text="queued, retrying, running, done or failed")
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class BatchJobsApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=DISPLAY_STATUSES), OpenApiParameter("page", int)],
        responses=JobOutput(many=True),
        summary="Jobs of a batch",
    )
    def get(self, request, batch_id):
        batch, _role = selectors.batch_get_for_user(
            user=request.user, batch_id=batch_id, capability=Capability.SEE_PROVENANCE
        )
        check_query_params(request, {"status", "page", "page_size"})
        job_status = request.query_params.get("status", "")
        if job_status and job_status not in DISPLAY_STATUSES:
            raise ApplicationError("Unknown status.", extra={"allowed": list(DISPLAY_STATUSES)})
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.batch_jobs(batch=batch, status=job_status), request, view=self)
        return paginator.get_paginated_response(JobOutput(page, many=True).data)


class BatchRetryFailedApi(APIView):
    @extend_schema(request=None, responses=BatchOutput, summary="Send every failed job of the batch again")
    def post(self, request, batch_id):
        batch, _role = selectors.batch_get_for_user(user=request.user, batch_id=batch_id, capability=Capability.MANAGE)
        services.generation_batch_retry_failed(batch=batch)
        return Response(batch_payload(batch))


class JobRetryApi(APIView):
    @extend_schema(request=None, responses=JobOutput, summary="Send a failed job again")
    def post(self, request, job_id):
        job = selectors.job_get_for_user(user=request.user, job_id=job_id, capability=Capability.MANAGE)
        return Response(JobOutput(services.generation_job_retry(job=job)).data)
