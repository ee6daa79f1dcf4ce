from dataclasses import dataclass

from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from labelhub.accounts.models import User
from labelhub.core.blockdiff import BlockDiff, block_diff
from labelhub.core.diff import MAX_ROWS, DiffRow, diff_lines, side_by_side_rows, unified_lines
from labelhub.core.exceptions import Forbidden, NotFound
from labelhub.core.ids import id_or_404
from labelhub.core.rawsql import Columns, instances

from .models import GuidelineAcknowledgement, GuidelineDraft, GuidelineVersion, Membership, Project
from .permissions import Capability, role_can
from .rubric import FLAGS, PRESETS, Schema, preset_choices, schema_of
from .rubric_diff import schema_changes


def project_list_for_user(*, user: User, with_schema: bool = False) -> QuerySet[Project]:
    """The projects the user belongs to, each annotated with `my_role` (and, `with_schema`, with
    `schema_json`: the JSON of the schema `project_schema` would return, for `project_track_labels`)."""
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    qs = Project.objects.filter(memberships__user=user).annotate(my_role=Subquery(role)).order_by("name", "id")
    if with_schema:
        version = GuidelineVersion.objects.filter(project=OuterRef("pk")).order_by("-number").values("schema")[:1]
        draft = GuidelineDraft.objects.filter(project=OuterRef("pk")).values("schema")[:1]
        qs = qs.annotate(schema_json=Coalesce(Subquery(version), Subquery(draft)))
    return qs


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    role: str

    def can(self, capability: Capability) -> bool:
        return role_can(self.role, capability)


# Every project page and API call runs this: written out (see core/rawsql.py).
_PROJECT_COLUMNS = Columns(Project, "p")
_ACCESS_SQL = """
SELECT m.role, {} FROM projects_membership m JOIN projects_project p ON p.id = m.project_id
WHERE m.project_id = %s AND m.user_id = %s
"""


def project_access(*, user: User, project_id, capability: Capability = Capability.VIEW) -> ProjectAccess:
    """The project as seen by `user`: 404 if they are not a member (existence is not leaked),
    403 if they are a member whose role lacks `capability`."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound("Project not found.")
    project_id = id_or_404(project_id, label="Project")
    with connection.cursor() as cursor:
        cursor.execute(_ACCESS_SQL.format(_PROJECT_COLUMNS), [project_id, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Project not found.")
    (project,) = instances(row[1:], _PROJECT_COLUMNS)
    access = ProjectAccess(project=project, role=row[0])
    if not access.can(capability):
        raise Forbidden(f"Your role ({access.role}) does not allow this in the project.")
    return access


def project_object_access(*, user: User, queryset: QuerySet, object_id, label: str, capability: Capability):
    """An object addressed by its own id (not under /projects/<id>/), seen by `user`: 404 unless
    they are a member of its project, 403 if their role lacks `capability`. Returns (object, access)."""
    object_id = id_or_404(object_id, label=label)
    obj = queryset.filter(pk=object_id).first()
    if obj is None:
        raise NotFound(f"{label} not found.")
    try:
        access = project_access(user=user, project_id=obj.project_id, capability=capability)
    except NotFound as exc:
        raise NotFound(f"{label} not found.") from exc
    return obj, access


def user_addable_by(*, adder: User, username: str) -> User | None:
    """The active user named `username` (or with that e-mail address) whom `adder` may add to a
    project, else None.

    Site staff may add anyone (they manage accounts). A project admin who is not staff may add only
    people they already share a project with (names they see on their member lists anyway): otherwise
    "no such user" and "a user of someone else's project" would tell them which usernames exist."""
    name = (username or "").strip()
    match = Q(username=name)
    if "@" in name:  # an e-mail address (or a username with an @: Django allows it)
        match |= Q(email__iexact=name)
    users = User.objects.filter(match, is_active=True).order_by("pk") if name else User.objects.none()
    if not adder.is_staff:
        users = users.filter(memberships__project__memberships__user=adder)
    return users.first()


def membership_list(*, project: Project) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user").order_by("user__username")


def guideline_version_list(*, project: Project) -> QuerySet[GuidelineVersion]:
    return GuidelineVersion.objects.filter(project=project).select_related("published_by").order_by("-number")


def guideline_version_current(*, project: Project) -> GuidelineVersion | None:
    return GuidelineVersion.objects.filter(project=project).order_by("-number").first()


def project_schema(*, project: Project) -> Schema:
    """The labeling schema new work follows: the current published version's, or the draft's before
    anything is published (then the HHH preset if the project has no draft)."""
    row = GuidelineVersion.objects.filter(project=project).order_by("-number").values("schema").first()
    if row is None:
        row = GuidelineDraft.objects.filter(project=project).values("schema").first()
    return schema_of(row["schema"] if row else None)


def _schema_for(project: Project) -> Schema:
    if hasattr(project, "schema_json"):  # annotated by project_list_for_user(with_schema=True)
        return schema_of(project.schema_json)
    return project_schema(project=project)


def project_track_labels(*, project: Project) -> dict[str, str]:
    """{track name: label} of the project's current schema, in the schema's order (for other apps:
    prompt lists and filters, badges). A prompt's track not in it is shown as its raw name."""
    return {t.name: t.label for t in _schema_for(project).tracks}


def project_flag_options(*, project: Project) -> list[str]:
    """The options of the current schema's multi-select question named "flags" (none: [])."""
    question = _schema_for(project).question(FLAGS)
    return list(question.options) if question is not None and question.type == "multi" else []


@dataclass(frozen=True)
class SchemaState:
    """What `GET /api/v1/projects/{id}/schema` answers: the published schema (None before anything is
    published) with its version number, and the draft's."""

    published: Schema | None
    published_number: int | None
    draft: Schema


def project_schema_state(*, project: Project) -> SchemaState:
    version = GuidelineVersion.objects.filter(project=project).order_by("-number").values("number", "schema").first()
    draft = GuidelineDraft.objects.filter(project=project).values("schema").first()
    published = schema_of(version["schema"]) if version else None
    return SchemaState(
        published=published,
        published_number=version["number"] if version else None,
        draft=schema_of(draft["schema"]) if draft else (published or schema_of(None)),
    )


def schema_presets() -> list[dict]:
    """The presets a schema can start from: name, label and schema (rubric.PRESETS)."""
    labels = dict(preset_choices())
    return [{"name": n, "label": labels[n], "schema": s.as_dict()} for n, s in PRESETS.items()]


def guideline_version_get(*, project: Project, number) -> GuidelineVersion:
    number = id_or_404(number, label="Guideline version")
    version = GuidelineVersion.objects.filter(project=project, number=number).select_related("published_by").first()
    if version is None:
        raise NotFound(f"Guideline version {number} not found.")
    return version


def guideline_version_previous(*, version: GuidelineVersion) -> GuidelineVersion | None:
    """The version published just before `version` (None for version 1)."""
    return (
        GuidelineVersion.objects.filter(project_id=version.project_id, number__lt=version.number)
        .order_by("-number")
        .first()
    )


def guideline_version_schema(*, version: GuidelineVersion) -> Schema:
    """The labeling schema frozen with `version` (labels made under it answer its questions)."""
    return schema_of(version.schema)


def guideline_acknowledged_number(*, project: Project, user: User) -> int | None:
    """The highest version of the project's guidelines the user has acknowledged."""
    ack = (
        GuidelineAcknowledgement.objects.filter(version__project=project, user=user)
        .order_by("-version__number")
        .values_list("version__number", flat=True)
        .first()
    )
    return ack


def guideline_acknowledgements(*, project: Project) -> dict[int, int | None]:
    """user id → highest acknowledged version number, for every member (one query)."""
    latest = (
        GuidelineAcknowledgement.objects.filter(version__project=project, user=OuterRef("user"))
        .order_by("-version__number")
        .values("version__number")[:1]
    )
    rows = Membership.objects.filter(project=project).annotate(acked=Subquery(latest)).values_list("user_id", "acked")
    return dict(rows)


@dataclass(frozen=True)
class GuidelineDiff:
    old: GuidelineVersion | None
    new: GuidelineVersion
    unified: list[tuple[str, str]]  # (css class, line) — rendered escaped by the template
    side_by_side: list[DiffRow]
    added: int
    removed: int
    coarse: bool  # some regions shown replaced whole (versions too large or repetitive), see core.diff
    truncated: bool  # unified / side_by_side cut at max_rows; added and removed count everything


def classify_diff_lines(lines) -> list[tuple[str, str]]:
    """Unified-diff lines as (css class, line) pairs: meta, hunk, add, del or ctx. Escaped by templates."""
    rows = []
    for line in lines:
        if line.startswith(("+++", "---")):
            css = "meta"
        elif line.startswith("@@"):
            css = "hunk"
        elif line.startswith("+"):
            css = "add"
        elif line.startswith("-"):
            css = "del"
        else:
            css = "ctx"
        rows.append((css, line))
    return rows


def guideline_diff(
    *, project: Project, old_number, new_number, max_rows: int | None = MAX_ROWS, side_by_side: bool = True
) -> GuidelineDiff:
    """Diff between two versions (old_number 0/None: the diff from nothing), in time linear in their
    size (core.diff); at most `max_rows` unified lines and side-by-side rows (None: all)."""
    new = guideline_version_get(project=project, number=new_number)
    old = None
    if old_number not in (None, "", 0, "0"):
        old = guideline_version_get(project=project, number=old_number)
    diff = diff_lines(old.content if old else "", new.content)
    old_label = f"v{old.number}" if old else "(nothing)"
    unified, cut = unified_lines(diff, old_label=old_label, new_label=f"v{new.number}", max_rows=max_rows)
    rows, cut_rows = side_by_side_rows(diff, max_rows=max_rows) if side_by_side else ([], False)
    return GuidelineDiff(
        old=old,
        new=new,
        unified=classify_diff_lines(unified),
        side_by_side=rows,
        added=diff.added,
        removed=diff.removed,
        coarse=diff.coarse,
        truncated=cut or cut_rows,
    )


@dataclass(frozen=True)
class GuidelineChanges:
    """What changed between two versions, for people who label or review (the acknowledgement gate):
    the text as a rendered block diff (core.blockdiff) and the labeling schema's changes in words."""

    old: GuidelineVersion
    new: GuidelineVersion
    text: BlockDiff
    schema: list[str]

    @property
    def old_label(self) -> str:
        return f"v{self.old.number}"


def guideline_changes(*, project: Project, old_number, new: GuidelineVersion) -> GuidelineChanges:
    """The readable changes from version `old_number` to `new` (a version already read: one query)."""
    old = guideline_version_get(project=project, number=old_number)
    return GuidelineChanges(
        old=old,
        new=new,
        text=block_diff(old.content, new.content),
        schema=schema_changes(schema_of(old.schema), schema_of(new.schema)),
    )
