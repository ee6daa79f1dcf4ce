from django.db import IntegrityError, transaction
from django.db.models import Max

from labelhub.accounts import services as account_services
from labelhub.accounts.models import User
from labelhub.accounts.throttle import ACCOUNT_NAME_PROBES
from labelhub.core.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from labelhub.core.text import unstorable_reason

from . import selectors
from .models import (
    GuidelineAcknowledgement,
    GuidelineDraft,
    GuidelineVersion,
    Membership,
    Project,
    Role,
)
from .permissions import Capability, role_can
from .rubric import DEFAULT_PRESET, PRESETS, Schema, SchemaInvalid, preset_guidelines, schema_of
from .signals import labeling_right_lost

MAX_GUIDELINE_CHARS = 200_000


def _validate_settings(*, demonstration_overlap, comparison_overlap, candidates_per_prompt) -> None:
    errors = {}
    for name, value, low, high in (
        ("demonstration_overlap", demonstration_overlap, 1, 50),
        ("comparison_overlap", comparison_overlap, 1, 50),
        ("candidates_per_prompt", candidates_per_prompt, 2, 9),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = [f"An integer from {low} to {high}."]
    if errors:
        raise ApplicationError("Invalid project settings.", extra={"fields": errors})


def _preset_schema(preset: str, tracks: list[str] | None) -> dict:
    """The preset's schema, keeping only `tracks` (None: all of the preset's tracks, in its order)."""
    if preset not in PRESETS:
        raise ApplicationError(
            f"Unknown preset {preset!r}.", extra={"fields": {"preset": [f"One of: {', '.join(PRESETS)}."]}}
        )
    schema = PRESETS[preset].as_dict()
    if tracks is None:
        return schema
    names = [t["name"] for t in schema["tracks"]]
    if (
        not isinstance(tracks, list)
        or not tracks
        or any(t not in names for t in tracks)
        or len(set(tracks)) < len(tracks)
    ):
        raise ApplicationError(
            "Invalid tracks.", extra={"fields": {"tracks": [f"Distinct tracks of the preset: {', '.join(names)}."]}}
        )
    schema["tracks"] = [t for t in schema["tracks"] if t["name"] in tracks]
    for question in schema["questions"]:
        if question["tracks"] is not None:
            question["tracks"] = [t for t in question["tracks"] if t in tracks]
    schema["safety"]["required_on"] = [t for t in schema["safety"]["required_on"] if t in tracks]
    return labeling_schema_check(schema).as_dict()


@transaction.atomic
def project_create(
    *,
    user: User,
    name: str,
    description: str = "",
    tracks: list[str] | None = None,
    demonstration_overlap: int = 1,
    comparison_overlap: int = 3,
    candidates_per_prompt: int = 2,
    preset: str = DEFAULT_PRESET,
) -> Project:
    """Site staff create projects; the creator becomes the project's first admin. The guideline draft
    starts from a preset (rubric.PRESETS): its labeling schema (only `tracks` of its tracks, when given)
    and a short guideline text to edit."""
    if not user.is_staff:
        raise Forbidden("Only site staff can create projects.")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ApplicationError(
            "A project needs a name of 1 to 200 characters.", extra={"fields": {"name": ["Required."]}}
        )
    schema = _preset_schema(preset, tracks)
    _validate_settings(
        demonstration_overlap=demonstration_overlap,
        comparison_overlap=comparison_overlap,
        candidates_per_prompt=candidates_per_prompt,
    )
    project = Project.objects.create(
        name=name,
        description=description or "",
        demonstration_overlap=demonstration_overlap,
        comparison_overlap=comparison_overlap,
        candidates_per_prompt=candidates_per_prompt,
        created_by=user,
    )
    Membership.objects.create(project=project, user=user, role=Role.ADMIN)
    GuidelineDraft.objects.create(project=project, content=preset_guidelines(preset), schema=schema, updated_by=user)
    return project


_UPDATABLE = (
    "name", "description", "demonstration_overlap", "comparison_overlap", "candidates_per_prompt",
    "demonstrations_enabled", "comparisons_enabled", "lease_minutes",
    "gold_rate", "max_overlap", "min_item_agreement",
)  # fmt: skip


def _validate_labeling_settings(merged: dict) -> None:
    errors = {}
    for name in ("demonstrations_enabled", "comparisons_enabled"):
        if not isinstance(merged[name], bool):
            errors[name] = ["true or false."]
    for name, low, high, what in (("gold_rate", 0, 0.5, "A share from 0 to 0.5."),
                                  ("min_item_agreement", 0, 1, "A share from 0 to 1.")):  # fmt: skip
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            errors[name] = [what]
        else:
            merged[name] = float(value)
    cap = merged["max_overlap"]
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 50:
        errors["max_overlap"] = ["An integer from 1 to 50."]
    lease = merged["lease_minutes"]
    if isinstance(lease, bool) or not isinstance(lease, int) or not 1 <= lease <= 1440:
        errors["lease_minutes"] = ["An integer from 1 to 1440 minutes."]
    if errors:
        raise ApplicationError("Invalid labeling settings.", extra={"fields": errors})


@transaction.atomic
def project_update(*, project: Project, data: dict) -> Project:
    unknown = set(data) - set(_UPDATABLE)
    if unknown:
        raise ApplicationError(
            "Unknown project fields.", extra={"unknown": sorted(unknown), "allowed": list(_UPDATABLE)}
        )
    project = Project.objects.select_for_update().get(pk=project.pk)
    merged = {f: data.get(f, getattr(project, f)) for f in _UPDATABLE}
    name = (merged["name"] or "").strip() if isinstance(merged["name"], str) else ""
    if not name or len(name) > 200:
        raise ApplicationError(
            "A project needs a name of 1 to 200 characters.", extra={"fields": {"name": ["Required."]}}
        )
    merged["name"] = name
    _validate_settings(
        demonstration_overlap=merged["demonstration_overlap"],
        comparison_overlap=merged["comparison_overlap"],
        candidates_per_prompt=merged["candidates_per_prompt"],
    )
    _validate_labeling_settings(merged)
    for field, value in merged.items():
        setattr(project, field, value)
    project.save()
    return project


def _admin_count(project: Project) -> int:
    return Membership.objects.filter(project=project, role=Role.ADMIN).count()


_OUTSIDER_HINT = " who shares a project with you (site staff add people from outside your projects)"


@transaction.atomic
def membership_add(*, project: Project, username: str, role: str, added_by: User | None = None) -> Membership:
    """`added_by`: the admin adding (from the API and the members page), who may add only the users
    selectors.user_addable_by allows, with one answer for every other name; None for system callers."""
    if role not in Role.values:
        raise ApplicationError("Unknown role.", extra={"allowed": Role.values})
    if added_by is None:
        user = User.objects.filter(username=(username or "").strip(), is_active=True).first()
    else:
        user = selectors.user_addable_by(adder=added_by, username=username)
    if user is None:
        hint = "" if added_by is None or added_by.is_staff else _OUTSIDER_HINT
        raise ApplicationError(
            f"No active user named {username!r}{hint}.", extra={"fields": {"username": ["Unknown user."]}}
        )
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=role)
    except IntegrityError as exc:
        raise Conflict(f"{user.username} is already a member of this project.") from exc


@transaction.atomic
def member_create_account(
    *, project: Project, username: str, role: str, added_by: User, email: str = "", next_path: str = ""
) -> tuple[Membership, str]:
    """A project admin creates an account and makes it a member: no password yet, a one-time
    set-password link instead. Returns the membership and the link's token (shown once).

    Each refusal for a name or address in use tells the admin that an account exists, so those
    refusals are counted per admin (`ACCOUNT_NAME_PROBES`): past the limit, 429 for an hour."""
    if role not in Role.values:
        raise ApplicationError("Unknown role.", extra={"allowed": Role.values})
    who = str(added_by.pk)
    if ACCOUNT_NAME_PROBES.blocked(who):
        raise ApplicationError(
            "Too many refused new accounts; try again in an hour or ask site staff.", status_code=429
        )
    try:
        user = account_services.user_create_invited(username=username, email=email)
    except Conflict:
        ACCOUNT_NAME_PROBES.fail(who)
        raise
    membership = Membership.objects.create(project=project, user=user, role=role)
    _link, token = account_services.set_password_link_create(user=user, created_by=added_by, next_path=next_path)
    return membership, token


@transaction.atomic
def member_set_password_link(*, project: Project, membership_id, added_by: User, next_path: str = "") -> tuple:
    """A new one-time link for a member who has not chosen a password yet (the old link expired or got
    lost); their older links stop working. Members with a password are refused: they reset it themselves."""
    membership = Membership.objects.select_related("user").filter(project=project, pk=membership_id).first()
    if membership is None:
        raise NotFound("Membership not found.")
    if membership.user.has_usable_password() or not membership.user.is_active:
        raise Conflict(f"{membership.user.username} has a password already; a link is only for new accounts.")
    _link, token = account_services.set_password_link_create(
        user=membership.user, created_by=added_by, next_path=next_path
    )
    return membership, token


@transaction.atomic
def membership_set_role(*, project: Project, membership_id, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", extra={"allowed": Role.values})
    # Lock every admin row of the project so two demotions cannot both pass the last-admin check.
    list(Membership.objects.select_for_update().filter(project=project, role=Role.ADMIN))
    membership = Membership.objects.select_for_update().filter(project=project, pk=membership_id).first()
    if membership is None:
        raise NotFound("Membership not found.")
    if membership.role == Role.ADMIN and role != Role.ADMIN and _admin_count(project) <= 1:
        raise Conflict("A project needs at least one admin; promote someone else first.")
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    if not role_can(role, Capability.LABEL):  # their live leases end now, their slots go back to the queue
        labeling_right_lost.send(sender=Membership, project=project, user_id=membership.user_id)
    return membership


@transaction.atomic
def membership_remove(*, project: Project, membership_id) -> None:
    list(Membership.objects.select_for_update().filter(project=project, role=Role.ADMIN))
    membership = Membership.objects.select_for_update().filter(project=project, pk=membership_id).first()
    if membership is None:
        raise NotFound("Membership not found.")
    if membership.role == Role.ADMIN and _admin_count(project) <= 1:
        raise Conflict("A project needs at least one admin; promote someone else first.")
    membership.delete()
    labeling_right_lost.send(sender=Membership, project=project, user_id=membership.user_id)


def _check_guideline_text(content) -> str:
    if not isinstance(content, str):
        raise ApplicationError("Guidelines must be text.", extra={"fields": {"content": ["Must be a string."]}})
    reason = unstorable_reason(content)
    if reason:
        raise ApplicationError(f"The guidelines {reason}.")
    if len(content) > MAX_GUIDELINE_CHARS:
        raise ApplicationError(f"Guidelines are limited to {MAX_GUIDELINE_CHARS} characters.")
    return content.replace("\r\n", "\n")


def guideline_draft_get(*, project: Project) -> GuidelineDraft:
    draft, _ = GuidelineDraft.objects.get_or_create(project=project)
    return draft


def labeling_schema_check(data) -> Schema:
    """A schema from an admin, or a 400 naming each problem (field paths such as "schema.questions[2].max")."""
    try:
        return Schema.parse(data)
    except SchemaInvalid as exc:
        raise ApplicationError(str(exc), extra={"fields": {f"schema.{k}": v for k, v in exc.fields.items()}}) from exc


@transaction.atomic
def guideline_draft_save(*, project: Project, user: User, content: str | None = None, schema=None) -> GuidelineDraft:
    """Save the draft's text and/or its labeling schema (validated whole: an invalid schema saves nothing)."""
    content = None if content is None else _check_guideline_text(content)
    parsed = None if schema is None else labeling_schema_check(schema)
    draft, _ = GuidelineDraft.objects.select_for_update().get_or_create(project=project)
    if content is not None:
        draft.content = content
    if parsed is not None:
        draft.schema = parsed.as_dict()
    draft.updated_by = user
    draft.save()
    return draft


def _same_guidelines(version: GuidelineVersion, content: str, schema: dict) -> bool:
    """Would publishing (content, schema) repeat `version`? The text compared up to line endings and
    trailing blank space, the schema as parsed (a version stored before schemas were normalised, by a
    migration, compares by what it means). Changing only the text or only the schema is a change."""
    if version.content.replace("\r\n", "\n").rstrip() != content.rstrip():
        return False
    return schema_of(version.schema).as_dict() == schema


@transaction.atomic
def guideline_version_publish(
    *, project: Project, user: User, change_note: str, content: str | None = None, schema=None
) -> GuidelineVersion:
    """Freeze the draft (or `content`) and the draft's labeling schema (or `schema`, validated: an invalid
    one publishes nothing) into version N+1; the draft then holds what was published.

    The project row is locked, so concurrent publishes queue up and get N+1, N+2; the unique
    (project, number) constraint is the backstop. The publisher acknowledges what they publish.
    """
    Project.objects.select_for_update().filter(pk=project.pk).first()
    change_note = (change_note or "").strip() if isinstance(change_note, str) else ""
    if not change_note:
        raise ApplicationError(
            "Say what changed: a change note is required.", extra={"fields": {"change_note": ["Required."]}}
        )
    if len(change_note) > 500:
        raise ApplicationError("Change notes are at most 500 characters.")
    draft = GuidelineDraft.objects.filter(project=project).first()
    if content is None:
        content = draft.content if draft else ""
    content = _check_guideline_text(content)
    if schema is None:
        schema = draft.schema if draft else PRESETS[DEFAULT_PRESET].as_dict()
    schema = labeling_schema_check(schema).as_dict()
    if not content.strip():
        raise ApplicationError("Guidelines cannot be empty.", extra={"fields": {"content": ["Required."]}})
    current = GuidelineVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0
    latest = GuidelineVersion.objects.filter(project=project, number=current).first()
    if latest is not None and _same_guidelines(latest, content, schema):
        raise ApplicationError(
            f"Nothing changed since version {current}: the text and the labeling schema are the same, and "
            "publishing would ask everyone to acknowledge the guidelines again for nothing.",
            extra={"fields": {"content": [f"Identical to version {current}."]}, "current_version": current},
        )
    version = GuidelineVersion.objects.create(
        project=project, number=current + 1, content=content, schema=schema, change_note=change_note, published_by=user
    )
    GuidelineDraft.objects.update_or_create(
        project=project, defaults={"content": content, "schema": schema, "updated_by": user}
    )
    GuidelineAcknowledgement.objects.get_or_create(user=user, version=version)
    return version


@transaction.atomic
def guideline_acknowledge(*, project: Project, user: User, number: int) -> GuidelineAcknowledgement:
    """Acknowledge a version; only the current one can be acknowledged (reading an old one is not enough)."""
    current = GuidelineVersion.objects.filter(project=project).order_by("-number").first()
    if current is None:
        raise ApplicationError("This project has no published guidelines yet.")
    if str(number) != str(current.number):
        raise Conflict(
            f"Version {number} is not the current version; read and acknowledge version {current.number}.",
            extra={"current_version": current.number},
        )
    ack, _ = GuidelineAcknowledgement.objects.get_or_create(user=user, version=current)
    return ack
