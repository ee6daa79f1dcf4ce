"""Build labeled data directly (no queue): export tests need exact control over who ranked what."""

from datetime import timedelta

from django.utils import timezone

from labelhub.labeling.models import Assignment, AssignmentStatus, Label, WorkItem
from labelhub.prompts.models import Candidate, Prompt
from labelhub.prompts.parsing import content_hash

RATING = {"helpful": 6, "truthful": 6, "harmless": 6}


def prompt(project, messages, *, track="helpful", external_id=None, candidates=()):
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    p = Prompt.objects.create(
        project=project,
        messages=messages,
        text=messages[-1]["content"],
        content_hash=content_hash(messages),
        track=track,
        external_id=external_id,
    )
    made = []
    for entry in candidates:
        content, model = entry if isinstance(entry, tuple) else (entry, "")
        made.append(
            Candidate.objects.create(
                prompt=p,
                content=content,
                source="generated" if model else "imported",
                model_name=model,
                provenance={"sampling": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 256}} if model else {},
            )
        )
    return p, made


def comparison(project, p, candidates, overlap=3):
    return WorkItem.objects.create(
        project=project, prompt=p, kind="comparison", candidate_ids=[c.pk for c in candidates], overlap=overlap
    )


def demonstration_item(project, p, overlap=2):
    return WorkItem.objects.create(project=project, prompt=p, kind="demonstration", overlap=overlap)


def label(item, user, version, *, at=None, display_order=None, **fields):
    """A submitted label (and its assignment), as the services would have stored it."""
    now = at or timezone.now()
    order = display_order if display_order is not None else list(item.candidate_ids)
    assignment = Assignment.objects.create(
        work_item=item,
        user=user,
        status=AssignmentStatus.SUBMITTED,
        claimed_at=now - timedelta(seconds=30),
        lease_expires_at=now + timedelta(minutes=30),
        display_order=order,
        guideline_version=version,
        submitted_at=now,
    )
    if item.kind == "comparison" and "ratings" not in fields:
        fields["ratings"] = {str(c): dict(RATING) for c in item.candidate_ids}
    if "ranks" in fields:
        fields["ranks"] = {str(k.pk if hasattr(k, "pk") else k): v for k, v in fields["ranks"].items()}
    source = fields.get("source_candidate")
    if source is not None and "original_content" not in fields:
        fields["original_content"] = source.content
    made = Label.objects.create(
        assignment=assignment,
        work_item=item,
        project=item.project,
        user=user,
        kind=item.kind,
        guideline_version=version,
        time_on_task_ms=30_000,
        display_order=order,
        **fields,
    )
    if at is not None:
        Label.objects.filter(pk=made.pk).update(created_at=at)
        made.refresh_from_db()
    WorkItem.objects.filter(pk=item.pk).update(taken=item.taken + 1, label_count=item.label_count + 1)
    item.refresh_from_db()
    return made
