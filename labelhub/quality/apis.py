"""Quality APIs: quarantine, gold items, adjudication, the event log, statistics and the leaderboard."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.api.fields import IdField
from labelhub.api.pagination import NewestFirstCursorPagination
from labelhub.api.utils import check_query_params, validated_input
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import project_access

from . import selectors, services
from .models import QualityAction, QualityEvent


class QuarantineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    active = serializers.BooleanField()
    reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    released_by = serializers.CharField(source="released_by.username", default=None)
    released_at = serializers.DateTimeField(allow_null=True)
    release_reason = serializers.CharField()


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why; it is logged with your name.")


class LabelerQuarantineApi(APIView):
    @extend_schema(request=ReasonInput, responses={201: QuarantineOutput}, summary="Quarantine a labeler (admins)")
    def post(self, request, project_id, user_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(ReasonInput, request.data)
        quarantine = services.labeler_quarantine(
            project=access.project, user_id=user_id, actor=request.user, reason=data["reason"]
        )
        return Response(QuarantineOutput(quarantine).data, status=status.HTTP_201_CREATED)


class LabelerReleaseApi(APIView):
    @extend_schema(request=ReasonInput, responses=QuarantineOutput, summary="Lift a labeler's quarantine (admins)")
    def post(self, request, project_id, user_id):
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(ReasonInput, request.data)
        quarantine = services.labeler_release(
            project=access.project, user_id=user_id, actor=request.user, reason=data["reason"]
        )
        return Response(QuarantineOutput(quarantine).data)


class GoldInput(serializers.Serializer):
    """Documentation of the body (validated by the service, which knows the item's candidates)."""

    pairs = serializers.ListField(
        child=serializers.ListField(child=IdField(), min_length=2, max_length=2),
        required=False,
        help_text="[[better, worse], …] candidate ids.",
    )
    ranking = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="Candidate id → rank (1 = best); becomes pairs."
    )
    flags = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Candidate id → flags that must be ticked (options of the schema's `flags` question).",
    )
    answers = serializers.DictField(
        child=serializers.DictField(child=serializers.JSONField()),
        required=False,
        help_text="Candidate id → {question: expected answer}, for any question the prompt's track shows except "
        "text ones, checked against the project's current schema (scale: an integer in its range; binary: "
        "true/false; choice: an option; multi: options that must be ticked).",
    )
    tolerance = serializers.IntegerField(
        required=False, min_value=0, max_value=10, help_text="Scale answers may be off by this many points."
    )
    all_bad = serializers.BooleanField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class GoldOutput(serializers.Serializer):
    work_item_id = serializers.IntegerField()
    pairs = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    flags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    answers = serializers.DictField(child=serializers.DictField(child=serializers.JSONField()))
    tolerance = serializers.IntegerField()
    all_bad = serializers.BooleanField(allow_null=True)
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    updated_at = serializers.DateTimeField()


class GoldApi(APIView):
    @extend_schema(request=GoldInput, responses=GoldOutput, summary="Mark a comparison item gold (admins)")
    def put(self, request, work_item_id):
        gold = services.gold_set(work_item_id=work_item_id, user=request.user, data=request.data)
        return Response(GoldOutput(gold).data)

    @extend_schema(request=ReasonInput, responses={204: None}, summary="Remove the gold mark (admins)")
    def delete(self, request, work_item_id):
        data = validated_input(ReasonInput, request.data)
        services.gold_unset(work_item_id=work_item_id, user=request.user, reason=data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class GoldListApi(APIView):
    @extend_schema(responses=GoldOutput(many=True), summary="Gold items of the project (admins)")
    def get(self, request, project_id):
        check_query_params(request, {"cursor", "page_size"})
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        qs = selectors.gold_items(project=access.project)
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(GoldOutput(page, many=True).data)


class AdjudicateInput(serializers.Serializer):
    keep_label = IdField(help_text="The label to keep; the item's other labels are rejected.")
    comment = serializers.CharField(max_length=2000)


class AdjudicateApi(APIView):
    @extend_schema(request=AdjudicateInput, responses={200: None}, summary="Settle a disputed item (reviewers)")
    def post(self, request, work_item_id):
        data = validated_input(AdjudicateInput, request.data)
        label = services.item_adjudicate(
            work_item_id=work_item_id, reviewer=request.user, keep_label_id=data["keep_label"], comment=data["comment"]
        )
        return Response({"work_item_id": label.work_item_id, "kept_label": label.pk})


class AdjudicationLabelOutput(serializers.Serializer):
    label_id = serializers.IntegerField()
    labeler = serializers.CharField()
    ranks = serializers.DictField(child=serializers.IntegerField())
    all_bad = serializers.BooleanField()
    strength = serializers.CharField()
    strength_label = serializers.CharField(help_text="The strength level's label in the label's own schema.")
    rationale = serializers.CharField()


class AdjudicationItemOutput(serializers.Serializer):
    work_item_id = serializers.IntegerField()
    prompt_id = serializers.IntegerField()
    prompt = serializers.CharField()
    candidate_ids = serializers.ListField(child=serializers.IntegerField())
    labels = AdjudicationLabelOutput(many=True)


class AdjudicationListOutput(serializers.Serializer):
    results = AdjudicationItemOutput(many=True)


class AdjudicationListApi(APIView):
    @extend_schema(
        responses=AdjudicationListOutput,
        summary="Disputed items waiting for a reviewer, with their labels (reviewers)",
    )
    def get(self, request, project_id):
        check_query_params(request, set())
        access = project_access(user=request.user, project_id=project_id, capability=Capability.REVIEW)
        return Response({"results": selectors.adjudication_queue(project=access.project)})


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=QualityAction.choices)
    actor = serializers.CharField(source="actor.username", default=None, help_text="null: the system.")
    subject = serializers.CharField(source="subject.username", default=None)
    work_item_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    details = serializers.JSONField()
    created_at = serializers.DateTimeField()


class QualityEventListApi(APIView):
    @extend_schema(responses=EventOutput(many=True), summary="Who changed what about quality, and why (admins)")
    def get(self, request, project_id):
        check_query_params(request, {"cursor", "page_size"})
        access = project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        qs = QualityEvent.objects.filter(project=access.project).select_related("actor", "subject")
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(EventOutput(page, many=True).data)


class AlphaOutput(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="Krippendorff's alpha (null: undefined).")
    low = serializers.FloatField(allow_null=True, help_text="95% bootstrap interval over items.")
    high = serializers.FloatField(allow_null=True)
    items = serializers.IntegerField(help_text="Items with a unit answered by two labelers or more.")
    values = serializers.IntegerField(help_text="Answers in those units.")
    enough_data = serializers.BooleanField(help_text="false under rules.min_agreement_items items.")


class QuestionOutput(serializers.Serializer):
    key = serializers.CharField(help_text="The name, or name@v<first version> when versions define it differently.")
    name = serializers.CharField()
    label = serializers.CharField(help_text="As the latest version in the group words it.")
    type = serializers.ChoiceField(choices=["scale", "binary", "choice", "multi"])
    level = serializers.ChoiceField(choices=["interval", "nominal", "set"])
    digest = serializers.CharField(help_text="Fingerprint of the definition: name, type, range, options.")
    versions = serializers.ListField(child=serializers.IntegerField(), help_text="Guideline versions pooled here.")
    min = serializers.IntegerField(required=False, help_text="Scales only.")
    max = serializers.IntegerField(required=False)


class QuestionAgreementOutput(QuestionOutput, AlphaOutput):
    options = serializers.JSONField(
        required=False,
        help_text="multi: {option: the same alpha object}, one binary alpha per option; choice: its options.",
    )


class QuestionCountOutput(serializers.Serializer):
    value = serializers.JSONField(help_text="A scale point, true/false, or an option.")
    n = serializers.IntegerField()


class QuestionDistributionOutput(QuestionOutput):
    options = serializers.ListField(child=serializers.CharField(), required=False)
    counts = QuestionCountOutput(many=True, help_text="Over the question's own values, in order.")
    none = serializers.IntegerField(required=False, help_text="multi: answers that ticked no option.")


class StrengthLevelOutput(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    margin = serializers.IntegerField()
    unsure = serializers.BooleanField(help_text="Margin 0: no real preference (it asks for another label).")


class AgreementOutput(serializers.Serializer):
    pairwise = serializers.JSONField(help_text="{value, low, high, n, items, enough_data} over pairs of rankings.")
    kendall_tau = serializers.JSONField()
    alpha = serializers.DictField(child=serializers.FloatField(allow_null=True), help_text="question key → alpha.")
    questions = QuestionAgreementOutput(many=True)
    by_guideline_version = serializers.JSONField()
    by_track = serializers.JSONField()
    track_labels = serializers.DictField(child=serializers.CharField())


class DistributionsOutput(serializers.Serializer):
    questions = QuestionDistributionOutput(many=True)
    strength = serializers.DictField(child=serializers.IntegerField(), help_text="level name → labels.")
    strength_levels = StrengthLevelOutput(many=True, help_text="The levels of the schemas labels were made under.")
    unsure = serializers.IntegerField(help_text="Labels choosing a level of margin 0 in their own schema.")
    asked = serializers.DictField(child=serializers.BooleanField(), help_text="safety, all_bad: asked by any version.")
    flags = serializers.DictField(child=serializers.IntegerField())
    safety = serializers.DictField(child=serializers.IntegerField())
    all_bad = serializers.IntegerField()


class StatsDataOutput(serializers.Serializer):
    """Documentation of the stored statistics (labelhub/quality/stats.py). Per-question parts follow the
    labeling schema of each label's own guideline version; a question whose definition (type, range,
    options) changed between versions gets one entry per definition, never pooled."""

    labels = serializers.IntegerField()
    comparisons = serializers.IntegerField()
    demonstrations = serializers.IntegerField()
    progress = serializers.JSONField()
    agreement = AgreementOutput()
    labelers = serializers.JSONField(help_text="With flags and quarantine state (not for labelers' roles).")
    distributions = DistributionsOutput()
    leaderboard = serializers.JSONField(help_text="Admins and engineers only (names models).")
    leaderboard_scales = serializers.JSONField(help_text="[{key, label}]: the scale questions of the axes columns.")
    win_matrix = serializers.JSONField(allow_null=True)
    schema_versions = serializers.JSONField(help_text="[{version, digest}] of the schemas read.")
    rules = serializers.JSONField()


class StatsOutput(serializers.Serializer):
    computed_at = serializers.DateTimeField(allow_null=True, help_text="null until the first computation.")
    label_count = serializers.IntegerField()
    duration_ms = serializers.IntegerField(allow_null=True)
    data = StatsDataOutput(
        help_text="Empty until the first computation; see the README (Quality control). leaderboard and "
        "win_matrix name models: admins and engineers only."
    )


class LeaderboardRowOutput(serializers.Serializer):
    rank = serializers.IntegerField()
    name = serializers.CharField()
    key = serializers.CharField(help_text="config:<id>, or model:<name> for imported answers")
    config_id = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text="Bradley–Terry on the Elo-like scale (mean 1000).")
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)
    rank_ub = serializers.IntegerField(allow_null=True)
    comparisons = serializers.FloatField()
    enough_data = serializers.BooleanField(
        default=True, help_text="false under rules.min_comparisons comparisons: the score is not to be read yet."
    )
    win_rate = serializers.FloatField(allow_null=True)
    win_rate_low = serializers.FloatField(allow_null=True, default=None, help_text="Wilson 95% interval")
    win_rate_high = serializers.FloatField(allow_null=True, default=None)
    axes = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Mean answer per scale question (keys as in `scales`) over this model's candidates.",
    )
    flag_rate = serializers.FloatField(allow_null=True)
    unsafe_rate = serializers.FloatField(allow_null=True)


class LeaderboardOutput(serializers.Serializer):
    computed_at = serializers.DateTimeField(allow_null=True)
    leaderboard = LeaderboardRowOutput(many=True)
    scales = serializers.ListField(
        child=serializers.DictField(), help_text="The scale questions of the `axes` columns: [{key, label}]."
    )
    win_matrix = serializers.JSONField(allow_null=True, help_text="players, keys, share[i][j], games[i][j]")


class StatsApi(APIView):
    @extend_schema(
        responses=StatsOutput,
        summary="Precomputed quality statistics: agreement, labelers, distributions, leaderboard",
    )
    def get(self, request, project_id):
        check_query_params(request, set())
        access = selectors.stats_access(user=request.user, project_id=project_id)
        payload = selectors.project_stats_payload(
            project=access.project, include_labelers=True, include_models=access.can(Capability.SEE_PROVENANCE)
        )
        return Response(payload)


class StatsRefreshApi(APIView):
    @extend_schema(request=None, responses={202: None}, summary="Recompute the statistics now (on a worker)")
    def post(self, request, project_id):
        access = selectors.stats_access(user=request.user, project_id=project_id)
        outcome = services.project_stats_request(project_id=access.project.pk)
        if outcome == services.STATS_UNAVAILABLE:
            return Response(
                {"message": "The task queue cannot be reached; the statistics refresh on their own once it is back."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        message = (
            "The statistics are being recomputed."
            if outcome == services.STATS_SENT
            else "A recomputation is already under way."
        )
        return Response({"message": message, "status": outcome}, status=status.HTTP_202_ACCEPTED)


class LeaderboardApi(APIView):
    @extend_schema(
        responses=LeaderboardOutput,
        summary="Model configs ranked by human comparisons (Bradley–Terry with bootstrap intervals; "
        "admins and engineers)",
    )
    def get(self, request, project_id):
        check_query_params(request, set())
        access = project_access(user=request.user, project_id=project_id, capability=Capability.SEE_PROVENANCE)
        payload = selectors.project_stats_payload(project=access.project, include_labelers=False, include_models=True)
        return Response(
            {
                "computed_at": payload["computed_at"],
                "leaderboard": payload["data"].get("leaderboard", []),
                "scales": payload["data"].get("leaderboard_scales", []),
                "win_matrix": payload["data"].get("win_matrix"),
            }
        )
