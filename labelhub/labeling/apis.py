from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.fields import IdField
from labelhub.api.pagination import NewestFirstCursorPagination
from labelhub.api.utils import validated_input
from labelhub.core.exceptions import ApplicationError
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_access

from . import selectors, services
from .models import WorkChoice, WorkKind


class TaskOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Work item id: use it in /work-items/{id}/…")
    assignment_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=WorkKind.choices)
    status = serializers.CharField()
    prompt_id = serializers.IntegerField()
    track = serializers.CharField()
    messages = serializers.ListField(
        child=serializers.DictField(),
        help_text="The prompt's messages ({role, content}), each with `html`: its content rendered as Markdown "
        "(single line breaks kept, sanitized by labelhub.core.markdown).",
    )
    candidates = serializers.ListField(
        child=serializers.DictField(),
        help_text="In this labeler's display order: {id, content, html} (`html` as for messages).",
    )
    guideline_version = serializers.IntegerField()
    lease_expires_at = serializers.DateTimeField()
    claimed_at = serializers.DateTimeField()
    draft = serializers.JSONField(allow_null=True)
    schema = serializers.JSONField(
        help_text="The labeling schema of this task's guideline version (questions, tracks, ranking, strength, safety)."
    )
    questions = serializers.ListField(
        child=serializers.CharField(), help_text="Names of the schema's questions asked on this task's track."
    )
    needs_safety = serializers.BooleanField(help_text="This track requires a safety verdict per candidate.")
    flags = serializers.ListField(child=serializers.CharField(), help_text="The options of the `flags` question.")
    reopened_from = serializers.IntegerField(
        allow_null=True, help_text="A fix of this rejected label of yours (POST /labels/{id}/reopen); else null."
    )
    review_comment = serializers.CharField(help_text="The reviewer's comment on that rejected label; else empty.")
    amendable = serializers.BooleanField(
        help_text="A submitted task you may still amend (PUT …/ranking or …/demonstration): your label is not "
        "reviewed and the lease runs. `draft` then holds your label."
    )
    fix = serializers.JSONField(
        allow_null=True,
        help_text="A fix-it task (an evaluation sent this answer to be fixed): {candidate, reasons, flags}, the "
        "answer to start from and why it was condemned; else null.",
    )


class LabelOutput(serializers.Serializer):
    id = serializers.IntegerField()
    work_item_id = serializers.IntegerField()
    kind = serializers.CharField()
    guideline_version = serializers.IntegerField(source="guideline_version.number")
    time_on_task_ms = serializers.IntegerField()
    content = serializers.CharField()
    source_candidate_id = serializers.IntegerField(allow_null=True)
    ranks = serializers.DictField()
    all_bad = serializers.BooleanField()
    ratings = serializers.DictField(help_text="Candidate id → {question: answer} (every question but `flags`).")
    flags = serializers.DictField(help_text="Candidate id → options ticked in the `flags` question.")
    strength = serializers.CharField()
    safety = serializers.DictField()
    rationale = serializers.CharField()
    display_order = serializers.ListField(child=serializers.IntegerField())
    review_status = serializers.CharField()
    review_comment = serializers.CharField(help_text="Why a reviewer rejected (or a note on accepting) it.")
    reviewed_at = serializers.DateTimeField(allow_null=True)
    supersedes_id = serializers.IntegerField(allow_null=True, help_text="The rejected label this one fixes.")
    created_at = serializers.DateTimeField()


class RankingInput(serializers.Serializer):
    """Documentation of the ranking body. It is validated against the schema of the task's guideline
    version by labelhub.projects.rubric (unknown question, value out of range, missing required answer
    → 400 naming the question)."""

    ranks = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=9),
        help_text="Candidate id → rank, 1 = best; ties share a rank (if the schema allows). Optional when all_bad.",
    )
    all_bad = serializers.BooleanField(required=False)
    answers = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        help_text="Candidate id → {question name: answer}: an integer for a scale, true/false for binary, an "
        "option for choice, a list of options for multi, text for text.",
    )
    ratings = serializers.DictField(
        child=serializers.DictField(), required=False, help_text="Accepted as a synonym of `answers`."
    )
    flags = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Candidate id → options of the `flags` question (same as answers[id].flags).",
    )
    strength = serializers.CharField(required=False, help_text="K = 2 only: a level of the schema's strength levels.")
    safety = serializers.DictField(
        child=serializers.ChoiceField(choices=["safe", "unsafe"]),
        required=False,
        help_text="Candidate id → safe/unsafe; required on the tracks the schema names (`needs_safety`).",
    )
    rationale = serializers.CharField(required=False, allow_blank=True)


class SyncOutput(serializers.Serializer):
    demonstration = serializers.IntegerField()
    comparison = serializers.IntegerField()


class WorkNextApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(
            choices=WorkChoice.choices, required=False, allow_blank=True, help_text='"" = anything.'
        )
        track = serializers.CharField(required=False, allow_blank=True, max_length=64, help_text='"" = any track.')

    @extend_schema(
        request=InputSerializer,
        responses={200: TaskOutput, 204: None},
        summary="Claim the next task (or get back the one you hold)",
        description="Serves the kind and track you chose (PUT …/work/preference) unless `kind` / `track` are "
        "given, in the body or the query string, for this claim. 204: nothing left for that choice. "
        "409 with `extra.current_version` when the current guidelines are not acknowledged yet.",
    )
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.LABEL)
        if request.data:  # the body, checked as ever (unknown fields refused)
            data = validated_input(self.InputSerializer, request.data)
        else:  # or ?kind=&track= (other query parameters are not ours)
            query = request.query_params
            data = validated_input(self.InputSerializer, {k: query[k] for k in ("kind", "track") if k in query})
        assignment = services.work_item_claim_next(
            project=access.project,
            user=request.user,
            kind=data.get("kind"),
            track=data.get("track"),
            role=access.role,
        )
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(TaskOutput(selectors.task_payload(assignment=assignment)).data)


class WorkPreferenceApi(APIView):
    class PreferenceSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=WorkChoice.choices, allow_blank=True, help_text='"" = anything.')
        track = serializers.CharField(allow_blank=True, max_length=64, help_text='A track of the schema; "" = any.')

    @extend_schema(responses=PreferenceSerializer, summary="The kind of work and track I chose")
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.LABEL)
        kind, track = selectors.work_preference(project=access.project, user=request.user)
        return Response({"kind": kind, "track": track})

    @extend_schema(
        request=PreferenceSerializer,
        responses=PreferenceSerializer,
        summary="Choose the kind of work and the track work/next serves me",
    )
    def put(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.LABEL)
        data = validated_input(self.PreferenceSerializer, request.data)
        pref = services.work_preference_set(
            project=access.project, user=request.user, kind=data["kind"], track=data["track"]
        )
        return Response({"kind": pref.kind, "track": pref.track})


class WorkSyncApi(APIView):
    @extend_schema(request=None, responses={200: SyncOutput}, summary="Build work items (admins)")
    def post(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        return Response(services.work_items_sync(project=access.project))


class TaskDetailApi(APIView):
    @extend_schema(responses=TaskOutput, summary="One of my tasks")
    def get(self, request, work_item_id):
        assignment = selectors.assignment_for_item(user=request.user, work_item_id=work_item_id)
        return Response(TaskOutput(selectors.task_payload(assignment=assignment)).data)


class DemonstrationSubmitApi(APIView):
    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(trim_whitespace=False, max_length=100_000)
        source_candidate = IdField(required=False, allow_null=True)

    @extend_schema(
        request=InputSerializer,
        responses={201: LabelOutput, 200: LabelOutput, 409: None},
        summary="Submit the ideal answer (idempotent; 409 if stale)",
        examples=[OpenApiExample("fix a candidate", value={"content": "Fixed answer.", "source_candidate": 12})],
    )
    def post(self, request, work_item_id):
        data = validated_input(self.InputSerializer, request.data)
        label = services.demonstration_submit(
            work_item_id=work_item_id,
            user=request.user,
            content=data["content"],
            source_candidate_id=data.get("source_candidate"),
        )
        code = status.HTTP_200_OK if getattr(label, "replayed", False) else status.HTTP_201_CREATED
        return Response(LabelOutput(label).data, status=code)

    @extend_schema(
        request=InputSerializer,
        responses={200: LabelOutput, 409: None},
        summary="Amend my submitted answer (within its lease, before review; 409 says why not)",
    )
    def put(self, request, work_item_id):
        data = validated_input(self.InputSerializer, request.data)
        label = services.demonstration_amend(
            work_item_id=work_item_id,
            user=request.user,
            content=data["content"],
            source_candidate_id=data.get("source_candidate"),
        )
        return Response(LabelOutput(label).data)


class RankingSubmitApi(APIView):
    @extend_schema(
        request=RankingInput,
        responses={201: LabelOutput, 200: LabelOutput, 409: None},
        summary="Submit a comparison (idempotent; 409 if stale)",
        examples=[
            OpenApiExample(
                "K = 2",
                value={
                    "ranks": {"11": 1, "12": 2},
                    "ratings": {
                        "11": {"helpful": 6, "truthful": 7, "harmless": 7},
                        "12": {"helpful": 3, "truthful": 2, "harmless": 7},
                    },
                    "flags": {"12": ["hallucination"]},
                    "strength": "better",
                    "rationale": "B invents a date.",
                },
            )
        ],
    )
    def post(self, request, work_item_id):
        if not isinstance(request.data, dict):
            raise ApplicationError("A ranking is a JSON object.")
        label = services.ranking_submit(work_item_id=work_item_id, user=request.user, payload=dict(request.data))
        code = status.HTTP_200_OK if getattr(label, "replayed", False) else status.HTTP_201_CREATED
        return Response(LabelOutput(label).data, status=code)

    @extend_schema(
        request=RankingInput,
        responses={200: LabelOutput, 409: None},
        summary="Amend my submitted comparison (within its lease, before review; 409 says why not)",
    )
    def put(self, request, work_item_id):
        if not isinstance(request.data, dict):
            raise ApplicationError("A ranking is a JSON object.")
        label = services.ranking_amend(work_item_id=work_item_id, user=request.user, payload=dict(request.data))
        return Response(LabelOutput(label).data)


class SkipApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses={200: TaskOutput}, summary="Skip a task, with a reason")
    def post(self, request, work_item_id):
        data = validated_input(self.InputSerializer, request.data)
        assignment = services.work_item_skip(work_item_id=work_item_id, user=request.user, reason=data["reason"])
        return Response(TaskOutput(selectors.task_payload(assignment=assignment)).data)


class ResumeApi(APIView):
    @extend_schema(
        request=None,
        responses={200: TaskOutput, 409: None},
        summary="Back to a task I just skipped (within its lease; 409 says why not)",
    )
    def post(self, request, work_item_id):
        assignment = services.work_item_resume(work_item_id=work_item_id, user=request.user)
        return Response(TaskOutput(selectors.task_payload(assignment=assignment)).data)


class DraftApi(APIView):
    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={200: TaskOutput}, summary="Autosave a draft (any JSON object)"
    )
    def put(self, request, work_item_id):
        if not isinstance(request.data, dict):
            raise ApplicationError("A draft is a JSON object.")
        assignment = services.draft_save(work_item_id=work_item_id, user=request.user, payload=dict(request.data))
        return Response(TaskOutput(selectors.task_payload(assignment=assignment)).data)


class MyLabelsApi(APIView):
    @extend_schema(responses=LabelOutput(many=True), summary="My labels in a project")
    def get(self, request, project_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.LABEL)
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(
            selectors.my_labels(project=access.project, user=request.user), request, view=self
        )
        return paginator.get_paginated_response(LabelOutput(page, many=True).data)


class LabelReopenApi(APIView):
    @extend_schema(
        request=None,
        responses={200: TaskOutput, 409: None},
        summary="Reopen my rejected label to fix it (409 when the item no longer wants it)",
    )
    def post(self, request, label_id):
        assignment = services.label_reopen(user=request.user, label_id=label_id)
        return Response(TaskOutput(selectors.task_payload(assignment=assignment)).data)


class ReviewApi(APIView):
    class InputSerializer(serializers.Serializer):
        accept = serializers.BooleanField()
        comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(request=InputSerializer, responses=LabelOutput, summary="Accept or reject a label (reviewers)")
    def post(self, request, label_id):
        data = validated_input(self.InputSerializer, request.data)
        label = services.label_review(
            label_id=label_id, reviewer=request.user, accept=data["accept"], comment=data.get("comment", "")
        )
        return Response(LabelOutput(label).data)
