"""Evaluation sets: a frozen selection of a project's prompts, held out of training while it exists.

Creating and deleting a set lock the project row (FOR NO KEY UPDATE: label inserts, which only take
a key-share lock on the project, go on) so that two sets made at once get distinct versions and a
delete racing a create cannot leave `Prompt.held_out` wrong: whichever runs second sees the other's
members when it recomputes the flag."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q

from labelhub.accounts.models import User
from labelhub.core.exceptions import ApplicationError, Conflict
from labelhub.core.ids import InvalidId, parse_id
from labelhub.labeling.models import Assignment, WorkItem
from labelhub.projects.models import Project
from labelhub.prompts.models import Candidate, CandidateSource, ImportStatus, Prompt
from labelhub.prompts.selectors import prompt_list

from ..models import EvaluationSet, EvaluationSetPrompt

NAME_MAX = 100
REFERENCE_MAX_CHARS = 100_000
SEED_MAX = 2**31 - 1


def max_prompts() -> int:
    return int(getattr(settings, "EVALUATION_SET_MAX_PROMPTS", 5000))


def _error(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"fields": {field: [message]}})


@dataclass(frozen=True)
class Selection:
    """How the prompts are chosen, normalised (what EvaluationSet.selection stores)."""

    tags: tuple[str, ...] = ()
    track: str = ""
    prompt_ids: tuple[int, ...] = ()
    sample: int | None = None
    seed: int | None = None

    def as_dict(self) -> dict:
        return {
            "tags": list(self.tags),
            "track": self.track,
            "prompt_ids": list(self.prompt_ids),
            "sample": self.sample,
            "seed": self.seed,
        }


def selection_parse(*, tags=(), track="", prompt_ids=None, sample=None, seed=None) -> Selection:
    """Check and normalise the criteria (400s naming the field); draws a seed for a sample without one."""
    if isinstance(tags, str):
        tags = [tags]
    tags = tuple(sorted({str(t).strip() for t in tags or () if str(t).strip()}))
    if any(len(t) > 100 for t in tags):
        raise _error("tags", "A tag has at most 100 characters.")
    track = (track or "").strip()
    if len(track) > 40:
        raise _error("track", "A track name has at most 40 characters.")
    ids: set[int] = set()
    for value in prompt_ids or ():
        try:
            ids.add(parse_id(value, field="prompt_ids"))
        except InvalidId as exc:
            raise _error("prompt_ids", "Prompt ids: ASCII digits 0-9.") from exc
    sample = _positive(sample, "sample", 1, max_prompts())
    seed = _positive(seed, "seed", 0, SEED_MAX)
    if sample is not None and seed is None:
        seed = secrets.randbelow(SEED_MAX + 1)
    return Selection(tags=tags, track=track, prompt_ids=tuple(sorted(ids)), sample=sample, seed=seed)


def _positive(value, field: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = parse_id(value, field=field)
    except InvalidId as exc:
        raise _error(field, f"A whole number from {low} to {high}.") from exc
    if not low <= number <= high:
        raise _error(field, f"A whole number from {low} to {high}.")
    return number


def selection_prompt_ids(*, project: Project, selection: Selection) -> list[int]:
    """The ids the selection picks, ascending. The same seed on the same prompts picks the same ones."""
    tags = selection.tags
    qs = prompt_list(project=project, track=selection.track, tag=tags[0] if tags else "")
    for tag in tags[1:]:  # every tag (one GIN-served containment each on PostgreSQL)
        qs = qs.filter(pk__in=prompt_list(project=project, tag=tag).values("pk"))
    qs = qs.filter(Q(source_import__isnull=True) | Q(source_import__status=ImportStatus.DONE))
    if selection.prompt_ids:
        _check_ids(project, selection.prompt_ids)
        qs = qs.filter(pk__in=selection.prompt_ids)
    ids = sorted(qs.order_by().values_list("pk", flat=True))
    if selection.sample is not None and selection.sample < len(ids):
        ids = sorted(random.Random(selection.seed).sample(ids, selection.sample))
    return ids


def _check_ids(project: Project, ids: tuple[int, ...]) -> None:
    found = set(Prompt.objects.filter(project=project, pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise _error("prompt_ids", f"The project has no prompt {missing[0]}.")


def _references(references, prompts: dict[int, str | None]) -> dict[int, str]:
    """{prompt id or external id: text} → {prompt id: text}, for prompts of the selection only."""
    if not references:
        return {}
    if not isinstance(references, dict):
        raise _error("references", "An object {prompt id or external id: reference answer}.")
    by_external = {ext: pk for pk, ext in prompts.items() if ext}
    out: dict[int, str] = {}
    for key, text in references.items():
        pk = by_external.get(str(key))
        if pk is None:
            try:
                pk = parse_id(key)
            except InvalidId:
                pk = None
        if pk not in prompts:
            raise _error("references", f"{str(key)[:50]!r} is not a prompt of the selection.")
        if not isinstance(text, str) or not text.strip():
            raise _error("references", f"The reference of {str(key)[:50]!r} must be non-empty text.")
        if len(text) > REFERENCE_MAX_CHARS:
            raise _error("references", f"A reference has at most {REFERENCE_MAX_CHARS} characters.")
        out[pk] = text
    return out


def _lock_project(project: Project) -> None:
    """Serialise set creation and deletion within a project (no-op on SQLite: writes are serial there)."""
    Project.objects.select_for_update(no_key=True).filter(pk=project.pk).values_list("pk").first()


@transaction.atomic
def evaluation_set_create(
    *,
    project: Project,
    user: User | None,
    name: str,
    description: str = "",
    tags=(),
    track: str = "",
    prompt_ids=None,
    sample=None,
    seed=None,
    references=None,
) -> EvaluationSet:
    """Freeze a selection of the project's prompts as the next version of the set `name`, with one
    reference Candidate per prompt given in `references`; its prompts become held out."""
    name = (name or "").strip()
    if not name:
        raise _error("name", "A name is required.")
    if len(name) > NAME_MAX:
        raise _error("name", f"At most {NAME_MAX} characters.")
    selection = selection_parse(tags=tags, track=track, prompt_ids=prompt_ids, sample=sample, seed=seed)
    ids = selection_prompt_ids(project=project, selection=selection)
    if not ids:
        raise _error("prompt_ids", "The selection holds no prompts.")
    if len(ids) > max_prompts():
        raise _error("sample", f"The selection holds {len(ids)} prompts; at most {max_prompts()}: sample fewer.")
    prompts = dict(Prompt.objects.filter(pk__in=ids).values_list("pk", "external_id"))
    texts = _references(references, prompts)
    _lock_project(project)
    version = (EvaluationSet.objects.filter(project=project, name=name).aggregate(v=Max("version"))["v"] or 0) + 1
    evaluation_set = EvaluationSet.objects.create(
        project=project,
        name=name,
        version=version,
        description=description or "",
        selection=selection.as_dict(),
        prompt_count=len(ids),
        created_by=user,
    )
    made = Candidate.objects.bulk_create(
        Candidate(
            prompt_id=pk,
            content=text,
            source=CandidateSource.REFERENCE,
            provenance={"evaluation_set": evaluation_set.pk, "name": name, "version": version},
        )
        for pk, text in sorted(texts.items())
    )
    reference_of = {c.prompt_id: c.pk for c in made}
    EvaluationSetPrompt.objects.bulk_create(
        EvaluationSetPrompt(evaluation_set=evaluation_set, prompt_id=pk, reference_id=reference_of.get(pk))
        for pk in ids
    )
    Prompt.objects.filter(evaluation_memberships__evaluation_set=evaluation_set).update(held_out=True)
    _drop_open_training_items(prompt_ids=ids)
    return evaluation_set


def _drop_open_training_items(*, prompt_ids) -> int:
    """Training items made before the prompts were held out, that nobody claimed or labeled, go: else the
    claim would still serve them, showing the set's references and the runs' answers to labelers writing
    training data on an evaluation prompt. Gold items, claimed or labeled items stay (their labels are
    left out of exports like every held-out label); a deleted set's prompts get theirs back from
    work_items_sync."""
    claimed = Assignment.objects.filter(work_item=OuterRef("pk"))
    # Locked (an item a claim is taking right now is skipped): a claim waiting on one finds it gone.
    ids = list(
        WorkItem.objects.select_for_update(skip_locked=True)
        .filter(prompt_id__in=prompt_ids, purpose="", is_gold=False, label_count=0, taken=0)
        .exclude(Exists(claimed))
        .values_list("pk", flat=True)
    )
    if ids:
        WorkItem.objects.filter(pk__in=ids).delete()
    return len(ids)


@transaction.atomic
def evaluation_set_delete(*, evaluation_set: EvaluationSet) -> None:
    """Delete a set that has no runs (409 otherwise) and its reference answers; its prompts stay
    held out only when another set holds them."""
    _lock_project(evaluation_set.project)
    if evaluation_set.runs.exists():
        raise Conflict("The set has evaluation runs; it cannot be deleted.", extra={"fields": {"set": ["Has runs."]}})
    members = list(
        EvaluationSetPrompt.objects.filter(evaluation_set=evaluation_set).values_list("prompt_id", "reference_id")
    )
    evaluation_set.delete()
    Candidate.objects.filter(pk__in=[ref for _, ref in members if ref], source=CandidateSource.REFERENCE).delete()
    held = EvaluationSetPrompt.objects.filter(prompt=OuterRef("pk"))
    Prompt.objects.filter(pk__in=[pk for pk, _ in members]).update(held_out=Exists(held))
