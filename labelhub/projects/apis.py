from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labelhub.accounts import apis as accounts_apis
from labelhub.accounts.services import set_password_link_email
from labelhub.api.pagination import Pagination
from labelhub.api.utils import check_query_params, validated_input
from labelhub.core.exceptions import ApplicationError

from . import selectors, services
from .models import Role
from .permissions import Capability
from .rubric import PRESETS


class ProjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    tracks = serializers.SerializerMethodField(help_text="Track names of the current labeling schema.")
    demonstration_overlap = serializers.IntegerField()
    comparison_overlap = serializers.IntegerField()
    candidates_per_prompt = serializers.IntegerField()
    demonstrations_enabled = serializers.BooleanField()
    comparisons_enabled = serializers.BooleanField()
    lease_minutes = serializers.IntegerField()
    gold_rate = serializers.FloatField()
    max_overlap = serializers.IntegerField()
    min_item_agreement = serializers.FloatField()
    my_role = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_tracks(self, project) -> list[str]:
        return list(selectors.project_track_labels(project=project))


def _project_out(project, role: str) -> dict:
    project.my_role = role
    return ProjectOutput(project).data


# /api/v1/me: the user's own fields (accounts) and the projects they belong to, with their role. (No
# docstring: it would become the operation's description in the API schema.)
class MeApi(accounts_apis.MeApi):
    class OutputSerializer(accounts_apis.MeApi.OutputSerializer):
        projects = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, summary="Who am I, and my roles")
    def get(self, request):
        return super().get(request)

    def me(self, user) -> dict:
        projects = [
            {"id": p.id, "name": p.name, "role": p.my_role} for p in selectors.project_list_for_user(user=user)[:500]
        ]
        return {**super().me(user), "projects": projects}


class ProjectListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, max_length=20_000, default="")
        preset = serializers.ChoiceField(
            choices=list(PRESETS), required=False, default="hhh", help_text="The labeling schema to start from."
        )
        tracks = serializers.ListField(
            child=serializers.CharField(max_length=40),
            required=False,
            min_length=1,
            help_text="Keep only these of the preset's tracks (default: all).",
        )
        demonstration_overlap = serializers.IntegerField(required=False, min_value=1, max_value=50, default=1)
        comparison_overlap = serializers.IntegerField(required=False, min_value=1, max_value=50, default=3)
        candidates_per_prompt = serializers.IntegerField(required=False, min_value=2, max_value=9, default=2)

    @extend_schema(responses=ProjectOutput(many=True), summary="Projects I belong to")
    def get(self, request):
        qs = selectors.project_list_for_user(user=request.user, with_schema=True)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ProjectOutput(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ProjectOutput}, summary="Create a project (site staff)")
    def post(self, request):
        data = validated_input(self.InputSerializer, request.data)
        project = services.project_create(user=request.user, **data)
        return Response(_project_out(project, Role.ADMIN), status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
        demonstration_overlap = serializers.IntegerField(required=False, min_value=1, max_value=50)
        comparison_overlap = serializers.IntegerField(required=False, min_value=1, max_value=50)
        candidates_per_prompt = serializers.IntegerField(required=False, min_value=2, max_value=9)
        demonstrations_enabled = serializers.BooleanField(required=False)
        comparisons_enabled = serializers.BooleanField(required=False)
        lease_minutes = serializers.IntegerField(required=False, min_value=1, max_value=1440)
        gold_rate = serializers.FloatField(
            required=False, min_value=0, max_value=0.5, help_text="Share of claims that serve a gold item."
        )
        max_overlap = serializers.IntegerField(
            required=False, min_value=1, max_value=50, help_text="Most labels a disputed comparison item may get."
        )
        min_item_agreement = serializers.FloatField(
            required=False, min_value=0, max_value=1, help_text="Below this agreement an item gets one more label."
        )

    @extend_schema(responses=ProjectOutput)
    def get(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id)
        return Response(_project_out(access.project, access.role))

    @extend_schema(request=InputSerializer, responses=ProjectOutput, summary="Change settings (project admins)")
    def patch(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(self.InputSerializer, request.data)
        project = services.project_update(project=access.project, data=data)
        return Response(_project_out(project, access.role))


class MembershipOutput(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()
    created_at = serializers.DateTimeField()


class NewAccountMembershipOutput(MembershipOutput):
    set_password_url = serializers.CharField(help_text="One-time link (72 hours) for the new user; shown only here.")
    emailed = serializers.BooleanField(help_text="Whether the link was also e-mailed (EMAIL_HOST set, address given).")


class MembershipListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=254, help_text="A username, or an e-mail address to add by.")
        role = serializers.ChoiceField(choices=Role.choices)
        create = serializers.BooleanField(
            default=False, help_text="Create a new account with this username (no password: a one-time link)."
        )
        email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")

    @extend_schema(responses=MembershipOutput(many=True), summary="Members (project admins)")
    def get(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        qs = selectors.membership_list(project=access.project)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(MembershipOutput(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: NewAccountMembershipOutput},
        summary="Add a member, or create an account as a member",
        description="Adds an existing user by username or e-mail address. With `create: true`, creates a new "
        "account with that username (and optional `email`) and returns its one-time `set_password_url`, only "
        "in this response.",
    )
    def post(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(self.InputSerializer, request.data)
        if not data.pop("create"):
            if data.pop("email"):
                raise ApplicationError("`email` is only for a new account (`create: true`).")
            membership = services.membership_add(project=access.project, added_by=request.user, **data)
            return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)
        membership, token = services.member_create_account(
            project=access.project,
            added_by=request.user,
            next_path=reverse("projects:detail", args=[access.project.pk]),
            **data,
        )
        url = request.build_absolute_uri(reverse("set-password-link", args=[token]))
        emailed = set_password_link_email(user=membership.user, url=url, project_name=access.project.name)
        body = {**MembershipOutput(membership).data, "set_password_url": url, "emailed": emailed}
        return Response(body, status=status.HTTP_201_CREATED)


class MembershipDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(request=InputSerializer, responses=MembershipOutput, summary="Change a member's role")
    def patch(self, request, project_id, membership_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(self.InputSerializer, request.data)
        membership = services.membership_set_role(
            project=access.project, membership_id=membership_id, role=data["role"]
        )
        return Response(MembershipOutput(membership).data)

    @extend_schema(responses={204: None}, summary="Remove a member")
    def delete(self, request, project_id, membership_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        services.membership_remove(project=access.project, membership_id=membership_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GuidelineVersionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    content = serializers.CharField()
    change_note = serializers.CharField()
    published_by = serializers.CharField(source="published_by.username", default=None)
    published_at = serializers.DateTimeField()


class GuidelineVersionSummaryOutput(serializers.Serializer):
    number = serializers.IntegerField()
    change_note = serializers.CharField()
    published_by = serializers.CharField(source="published_by.username", default=None)
    published_at = serializers.DateTimeField()


class GuidelineVersionListPublishApi(APIView):
    class InputSerializer(serializers.Serializer):
        change_note = serializers.CharField(max_length=500)
        content = serializers.CharField(required=False, max_length=200_000, trim_whitespace=False)

    @extend_schema(responses=GuidelineVersionSummaryOutput(many=True), summary="Published guideline versions")
    def get(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id)
        qs = selectors.guideline_version_list(project=access.project)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(GuidelineVersionSummaryOutput(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: GuidelineVersionOutput},
        summary="Publish version N+1 (project admins)",
        description="Publishes `content` if given, else the current draft. Published versions are immutable.",
    )
    def post(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(self.InputSerializer, request.data)
        version = services.guideline_version_publish(project=access.project, user=request.user, **data)
        return Response(GuidelineVersionOutput(version).data, status=status.HTTP_201_CREATED)


class GuidelineVersionDetailApi(APIView):
    @extend_schema(responses=GuidelineVersionOutput)
    def get(self, request, project_id, number):
        access = selectors.project_access(user=request.user, project_id=project_id)
        version = selectors.guideline_version_get(project=access.project, number=number)
        return Response(GuidelineVersionOutput(version).data)


_SCHEMA_HELP = "A labeling schema (see the README's labeling schema section and GET /api/v1/schema-presets)."


class GuidelineDraftApi(APIView):
    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(required=False, allow_blank=True, max_length=200_000, trim_whitespace=False)
        schema = serializers.JSONField(required=False, help_text=_SCHEMA_HELP)

    class OutputSerializer(serializers.Serializer):
        content = serializers.CharField()
        schema = serializers.JSONField()
        updated_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer, summary="The editable draft (project admins)")
    def get(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        draft = services.guideline_draft_get(project=access.project)
        return Response(self.OutputSerializer(draft).data)

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Save the draft (its text and/or its labeling schema)",
        description="An invalid `schema` is a 400 naming each problem in `extra.fields` "
        '(`"schema.questions[2].max"`); nothing is saved.',
    )
    def put(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id, capability=Capability.MANAGE)
        data = validated_input(self.InputSerializer, request.data)
        if not data:
            raise ApplicationError("Send `content`, `schema` or both.", extra={"fields": {"content": ["Required."]}})
        draft = services.guideline_draft_save(project=access.project, user=request.user, **data)
        return Response(self.OutputSerializer(draft).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Save the draft (same as PUT)")
    def patch(self, request, project_id):
        return self.put(request, project_id)


class SchemaOutput(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True, help_text="The guideline version the schema belongs to.")
    schema = serializers.JSONField(help_text=_SCHEMA_HELP)
    digest = serializers.CharField(help_text="Equal digests: the same questions.")


class ProjectSchemaApi(APIView):
    class OutputSerializer(serializers.Serializer):
        published = SchemaOutput(allow_null=True, help_text="The current version's schema (null: none published).")
        draft = SchemaOutput(allow_null=True, help_text="The draft's schema (project admins; null for others).")

    @extend_schema(responses=OutputSerializer, summary="The labeling schema: published and draft")
    def get(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id)
        state = selectors.project_schema_state(project=access.project)
        published = None
        if state.published is not None:
            published = _schema_out(state.published_number, state.published)
        draft = _schema_out(None, state.draft) if access.can(Capability.MANAGE) else None
        return Response({"published": published, "draft": draft})


def _schema_out(number, schema) -> dict:
    return {"version": number, "schema": schema.as_dict(), "digest": schema.digest()}


class GuidelineVersionSchemaApi(APIView):
    @extend_schema(responses=SchemaOutput, summary="The labeling schema of one guideline version")
    def get(self, request, project_id, number):
        access = selectors.project_access(user=request.user, project_id=project_id)
        version = selectors.guideline_version_get(project=access.project, number=number)
        return Response(_schema_out(version.number, selectors.guideline_version_schema(version=version)))


class SchemaPresetListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        label = serializers.CharField()
        schema = serializers.JSONField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Labeling schema presets to start from")
    def get(self, request):
        return Response(self.OutputSerializer(selectors.schema_presets(), many=True).data)


class GuidelineDiffApi(APIView):
    class OutputSerializer(serializers.Serializer):
        old = serializers.IntegerField(allow_null=True)
        new = serializers.IntegerField()
        added = serializers.IntegerField()
        removed = serializers.IntegerField()
        coarse = serializers.BooleanField(help_text="Some regions are shown replaced whole (large or repetitive text).")
        unified = serializers.CharField()

    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, description="Older version (0 or absent: from nothing)"),
            OpenApiParameter("to", int, required=True, description="Newer version"),
        ],
        responses=OutputSerializer,
        summary="Unified diff between two versions (linear time; `coarse` when regions are shown replaced whole)",
    )
    def get(self, request, project_id):
        access = selectors.project_access(user=request.user, project_id=project_id)
        check_query_params(request, {"from", "to"})
        diff = selectors.guideline_diff(
            project=access.project,
            old_number=request.query_params.get("from"),
            new_number=request.query_params.get("to"),
            max_rows=None,
            side_by_side=False,
        )
        return Response(
            {
                "old": diff.old.number if diff.old else None,
                "new": diff.new.number,
                "added": diff.added,
                "removed": diff.removed,
                "coarse": diff.coarse,
                "unified": "\n".join(line for _, line in diff.unified),
            }
        )


class GuidelineAcknowledgeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        version = serializers.IntegerField(source="version.number")
        acknowledged_at = serializers.DateTimeField()

    @extend_schema(request=None, responses=OutputSerializer, summary="Acknowledge the current version")
    def post(self, request, project_id, number):
        access = selectors.project_access(user=request.user, project_id=project_id)
        ack = services.guideline_acknowledge(project=access.project, user=request.user, number=number)
        return Response(self.OutputSerializer(ack).data)
