"""Project pages: list, create, overview, settings, members and guidelines.

Each view parses input, calls one selector or service, and renders. Access is checked by
`project_view` (404 for non-members, 403 for a role without the capability).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labelhub.accounts import once
from labelhub.accounts.services import set_password_link_email
from labelhub.core.blockdiff import block_diff
from labelhub.core.exceptions import ApplicationError
from labelhub.core.forms import apply_service_error
from labelhub.core.htmx import partial
from labelhub.core.ids import is_id, parse_id

from . import selectors, services
from .decorators import project_context, project_view
from .forms import (
    GuidelineDiffForm,
    GuidelineEditForm,
    MemberAddForm,
    MemberCreateForm,
    MemberRoleForm,
    ProjectCreateForm,
    ProjectSettingsForm,
    schema_text,
)
from .permissions import Capability
from .rubric import DEFAULT_PRESET, PRESETS
from .rubric_diff import schema_changes, schema_summary


@login_required
def project_list(request):
    projects = list(selectors.project_list_for_user(user=request.user, with_schema=True))
    for project in projects:
        project.track_labels = selectors.project_track_labels(project=project)
    return render(request, "projects/list.html", {"projects": projects})


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    if not request.user.is_staff:
        raise PermissionDenied("Only site staff can create projects.")
    form = ProjectCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created. You are its admin.")
            return redirect("projects:detail", project_id=project.pk)
    status = 400 if form.is_bound else 200
    return render(request, "projects/create.html", {"form": form}, status=status)


@project_view()
@require_GET
def project_detail(request, access):
    project = access.project
    current = selectors.guideline_version_current(project=project)
    acked = selectors.guideline_acknowledged_number(project=project, user=request.user)
    context = project_context(
        access,
        "overview",
        current=current,
        acknowledged_number=acked,
        needs_ack=current is not None and acked != current.number,
        member_count=selectors.membership_list(project=project).count(),
        track_labels=selectors.project_track_labels(project=project),
    )
    return render(request, "projects/detail.html", context)


@project_view(Capability.MANAGE)
@require_http_methods(["GET", "POST"])
def project_settings(request, access):
    form = ProjectSettingsForm.for_project(access.project, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(project=access.project, data=form.cleaned_data)
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("projects:detail", project_id=access.project.pk)
    status = 400 if form.is_bound else 200
    return render(request, "projects/settings.html", project_context(access, "settings", form=form), status=status)


# Members ---------------------------------------------------------------------------------------


def _members_page(request, access, *, add_form=None, create_form=None, row_errors=None, status=200):
    members = selectors.membership_list(project=access.project)
    acks = selectors.guideline_acknowledgements(project=access.project)
    current = selectors.guideline_version_current(project=access.project)
    rows = [
        {
            "membership": m,
            "form": MemberRoleForm(initial={"role": m.role}, auto_id=f"id_m{m.pk}_%s"),
            "acked": acks.get(m.user_id),
            "error": (row_errors or {}).get(m.pk),
        }
        for m in members
    ]
    context = project_context(
        access,
        "members",
        rows=rows,
        add_form=add_form or MemberAddForm(),
        create_form=create_form or MemberCreateForm(),
        current=current,
        new_link=once.take(request, f"set-password-link:{access.project.pk}") if status == 200 else None,
    )
    return render(request, "projects/members.html", context, status=status)


def _show_link_once(request, access, membership, token: str) -> None:
    """The link goes to the next GET of the members page only (POST/redirect/GET), and by e-mail
    when the site has a mail server and the user an address."""
    url = request.build_absolute_uri(reverse("set-password-link", args=[token]))
    emailed = set_password_link_email(user=membership.user, url=url, project_name=access.project.name)
    link = {"username": membership.user.username, "url": url, "emailed": emailed}
    once.stash(request, f"set-password-link:{access.project.pk}", link)


@project_view(Capability.MANAGE)
@require_http_methods(["GET", "POST"])
def members(request, access):
    """The member list; POST adds a member (an existing user), or with action=create a new account."""
    if request.method == "GET":
        return _members_page(request, access)
    if request.POST.get("action") == "create":
        return _member_create(request, access)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = services.membership_add(project=access.project, added_by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"{membership.user.username} added as {membership.get_role_display()}.")
            return redirect("projects:members", project_id=access.project.pk)
    return _members_page(request, access, add_form=form, status=400)


def _member_create(request, access):
    form = MemberCreateForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            membership, token = services.member_create_account(
                project=access.project,
                added_by=request.user,
                next_path=reverse("projects:detail", args=[access.project.pk]),
                **form.cleaned_data,
            )
        except ApplicationError as exc:
            apply_service_error(form, exc)
            status = exc.status_code if exc.status_code in (409, 429) else 400
        else:
            _show_link_once(request, access, membership, token)
            messages.success(request, f"Account {membership.user.username} created as {membership.get_role_display()}.")
            return redirect("projects:members", project_id=access.project.pk)
    return _members_page(request, access, create_form=form, status=status)


@project_view(Capability.MANAGE)
@require_POST
def member_link(request, access, membership_id: int):
    """A new set-password link for a member who has none yet (their link expired or got lost)."""
    try:
        membership, token = services.member_set_password_link(
            project=access.project,
            membership_id=membership_id,
            added_by=request.user,
            next_path=reverse("projects:detail", args=[access.project.pk]),
        )
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise
        return _members_page(request, access, row_errors={membership_id: exc.message}, status=409)
    _show_link_once(request, access, membership, token)
    return redirect("projects:members", project_id=access.project.pk)


@project_view(Capability.MANAGE)
@require_POST
def member_role(request, access, membership_id: int):
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _members_page(request, access, row_errors={membership_id: "Choose a valid role."}, status=400)
    try:
        membership = services.membership_set_role(
            project=access.project, membership_id=membership_id, role=form.cleaned_data["role"]
        )
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise
        return _members_page(request, access, row_errors={membership_id: exc.message}, status=409)
    messages.success(request, f"{membership.user.username} is now {membership.get_role_display()}.")
    return redirect("projects:members", project_id=access.project.pk)


@project_view(Capability.MANAGE)
@require_POST
def member_remove(request, access, membership_id: int):
    try:
        services.membership_remove(project=access.project, membership_id=membership_id)
    except ApplicationError as exc:
        if exc.status_code == 404:
            raise
        return _members_page(request, access, row_errors={membership_id: exc.message}, status=409)
    messages.success(request, "Member removed.")
    if not selectors.project_list_for_user(user=request.user).filter(pk=access.project.pk).exists():
        return redirect("projects:list")  # an admin removed themself
    return redirect("projects:members", project_id=access.project.pk)


# Guidelines ------------------------------------------------------------------------------------


@project_view()
@require_GET
def guidelines(request, access):
    project = access.project
    versions = list(selectors.guideline_version_list(project=project))
    context = project_context(
        access,
        "guidelines",
        current=versions[0] if versions else None,
        versions=versions,
        acknowledged_number=selectors.guideline_acknowledged_number(project=project, user=request.user),
    )
    return render(request, "projects/guidelines.html", context)


@project_view()
@require_GET
def guideline_version(request, access, number: int):
    version = selectors.guideline_version_get(project=access.project, number=number)
    current = selectors.guideline_version_current(project=access.project)
    previous = selectors.guideline_version_previous(version=version)
    schema = selectors.guideline_version_schema(version=version)
    old = selectors.guideline_version_schema(version=previous) if previous else None
    context = project_context(
        access,
        "guidelines",
        version=version,
        current=current,
        summary=schema_summary(schema),
        changes=schema_changes(old, schema),
        old_label=f"v{previous.number}" if previous else "",
    )
    return render(request, "projects/guideline_version.html", context)


@project_view()
@require_GET
def guideline_diff(request, access):
    """?from=A&to=B&mode=unified|side|rendered — `from` 0 means the diff from nothing."""
    project = access.project
    numbers = list(selectors.guideline_version_list(project=project).values_list("number", flat=True))
    if not numbers:
        return render(request, "projects/guideline_diff.html", project_context(access, "guidelines", diff=None))
    to = request.GET.get("to") or numbers[0]
    default_from = max(parse_id(to) - 1, 0) if is_id(to) else 0
    data = {
        "to": to,
        "from": request.GET.get("from") or default_from,
        "mode": request.GET.get("mode") or "unified",
    }
    form = GuidelineDiffForm(data, numbers=numbers)
    mode = data["mode"] if data["mode"] in ("side", "rendered") else "unified"
    diff = selectors.guideline_diff(
        project=project, old_number=data["from"], new_number=data["to"], side_by_side=mode == "side"
    )
    # Rendered: the Markdown blocks that changed, as readers see them (core.blockdiff; the gate's view).
    rendered = block_diff(diff.old.content if diff.old else "", diff.new.content) if mode == "rendered" else None
    new_schema = selectors.guideline_version_schema(version=diff.new)
    old_schema = selectors.guideline_version_schema(version=diff.old) if diff.old else None
    context = project_context(
        access,
        "guidelines",
        diff=diff,
        blockdiff=rendered,
        form=form,
        mode=mode,
        changes=schema_changes(old_schema, new_schema),
        old_label=f"v{diff.old.number}" if diff.old else "nothing",
        summary=schema_summary(new_schema),
    )
    return render(request, "projects/guideline_diff.html", context)


def _schema_errors(exc: ApplicationError) -> list[tuple[str, list[str]]]:
    """The labeling schema's problems in a service error, by path ("schema.questions[2].max")."""
    fields = exc.extra.get("fields") or {}
    return [(path, messages) for path, messages in fields.items() if path == "schema" or path.startswith("schema.")]


def _edit_page(request, context, form, status=200):
    context["form"] = form
    return render(request, "projects/guideline_edit.html", context, status=status)


def _edit_preview(request, access, form, context):
    """Render the text (the `preview` partial for htmx)."""
    if "content" not in form.errors:
        context["preview"] = form.cleaned_data["content"]
    context["form"] = form
    # htmx does not swap 4xx responses: the partial shows its own errors with a 200.
    return render(request, partial(request, "projects/guideline_edit.html", "preview"), context)


def _edit_schema_preview(request, access, form, context):
    """Render the schema as labelers will meet it, or its problems (the `schema_preview` partial for htmx)."""
    if "schema" not in form.errors:
        schema = form.cleaned_data["schema"]
        if schema is None:
            schema = services.guideline_draft_get(project=access.project).schema
        try:
            context["schema_summary"] = schema_summary(services.labeling_schema_check(schema))
        except ApplicationError as exc:
            context["schema_errors"] = _schema_errors(exc)
    context["form"] = form
    return render(request, partial(request, "projects/guideline_edit.html", "schema_preview"), context)


def _edit_reset(request, access, form, context):
    """Put a preset's schema in the editor (saved only with Save or Publish)."""
    preset = form.cleaned_data.get("preset") or DEFAULT_PRESET
    data = request.POST.copy()
    data["schema"] = schema_text(PRESETS[preset].as_dict())
    form = GuidelineEditForm(data)
    form.is_valid()
    context["schema_summary"] = schema_summary(PRESETS[preset])
    messages.info(request, f"The schema editor holds the “{preset}” preset: save or publish to keep it.")
    return _edit_page(request, context, form)


def _edit_save(request, access, form, context):
    try:
        services.guideline_draft_save(
            project=access.project,
            user=request.user,
            content=form.cleaned_data["content"],
            schema=form.cleaned_data["schema"],
        )
    except ApplicationError as exc:
        apply_service_error(form, exc)
        context["schema_errors"] = _schema_errors(exc)
        return _edit_page(request, context, form, status=400)
    messages.success(request, "Draft saved.")
    return redirect("projects:guideline-edit", project_id=access.project.pk)


def _edit_publish(request, access, form, context):
    try:
        version = services.guideline_version_publish(
            project=access.project,
            user=request.user,
            change_note=form.cleaned_data["change_note"],
            content=form.cleaned_data["content"],
            schema=form.cleaned_data["schema"],
        )
    except ApplicationError as exc:
        apply_service_error(form, exc)
        context["schema_errors"] = _schema_errors(exc)
        return _edit_page(request, context, form, status=409 if exc.status_code == 409 else 400)
    messages.success(request, f"Published version {version.number}.")
    return redirect("projects:guidelines", project_id=access.project.pk)


_EDIT_ACTIONS = {
    "preview": _edit_preview,
    "schema-preview": _edit_schema_preview,
    "reset": _edit_reset,
    "save": _edit_save,
    "publish": _edit_publish,
}
_EDIT_ACTIONS_ON_INVALID = {"preview", "schema-preview", "reset"}  # they show the form's errors themselves


@project_view(Capability.MANAGE)
@require_http_methods(["GET", "POST"])
def guideline_edit(request, access):
    """Edit the draft: its text and its labeling schema. POST action=save | preview | schema-preview |
    reset | publish. A preview requested by htmx gets its partial only; without JavaScript the whole page
    comes back with the preview. Save and publish write the text and the schema together, or nothing."""
    project = access.project
    current = selectors.guideline_version_current(project=project)
    context = project_context(
        access, "guidelines", current=current, next_number=(current.number if current else 0) + 1, preview=None
    )
    if request.method == "GET":
        draft = services.guideline_draft_get(project=project)
        form = GuidelineEditForm(initial={"content": draft.content, "schema": schema_text(draft.schema)})
        return _edit_page(request, context, form)
    form = GuidelineEditForm(request.POST)
    action = request.POST.get("action")
    handler = _EDIT_ACTIONS.get(action)
    valid = form.is_valid()
    if handler is None:
        form.add_error(None, "Unknown action.")
        return _edit_page(request, context, form, status=400)
    if not valid and action not in _EDIT_ACTIONS_ON_INVALID:
        return _edit_page(request, context, form, status=400)
    return handler(request, access, form, context)


@project_view()
@require_POST
def guideline_acknowledge(request, access):
    try:
        ack = services.guideline_acknowledge(
            project=access.project, user=request.user, number=request.POST.get("number", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You acknowledged version {ack.version.number} of the guidelines.")
    back = "projects:guidelines" if request.POST.get("back") == "guidelines" else "projects:detail"
    return redirect(back, project_id=access.project.pk)
