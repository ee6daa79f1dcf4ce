"""Helpers of the RUNS tests: sets built with the ORM (the set service is another stream's), model
configs on the fake server, labelers who acknowledged the guidelines, and a ranking payload."""

from labelhub.evaluation.models import EvaluationSet, EvaluationSetPrompt
from labelhub.generation import services as generation
from labelhub.labeling import services as labeling
from labelhub.projects import services as project_services
from labelhub.prompts.models import Candidate, Prompt
from tests.factories import UserFactory

AXES = ("helpful", "truthful", "harmless")


def make_set(project, n, *, references=True, name="core", start=0, text="question"):
    prompts = []
    for i in range(start, start + n):
        prompts.append(
            Prompt.objects.create(
                project=project,
                messages=[{"role": "user", "content": f"{text} {i}"}],
                text=f"{text} {i}",
                content_hash=f"{project.pk:08d}{i:056d}",
                track="helpful",
                held_out=True,
            )
        )
    s = EvaluationSet.objects.create(project=project, name=name, prompt_count=n, selection={"prompt_ids": []})
    for p in prompts:
        ref = (
            Candidate.objects.create(prompt=p, content=f"reference for {p.text}", source="reference")
            if references
            else None
        )
        EvaluationSetPrompt.objects.create(evaluation_set=s, prompt=p, reference=ref)
    return s


def make_config(project, base_url, name, **data):
    return generation.model_config_create(
        project=project, data={"name": name, "base_url": base_url, "model": name, "candidates_per_prompt": 3, **data}
    )


def labeler(project, username, staff):
    """A labeler who acknowledged the project's (published) guidelines."""
    version = project.guideline_versions.order_by("-number").first()
    if version is None:
        version = project_services.guideline_version_publish(
            project=project, user=staff, change_note="v1", content="# v1"
        )
    user = UserFactory(username=username)
    project_services.membership_add(project=project, username=username, role="labeler")
    project_services.guideline_acknowledge(project=project, user=user, number=version.number)
    return user


def ranking(item, best):
    """Rank candidate `best` first."""
    ids = [str(c) for c in item.candidate_ids]
    ids.sort(key=lambda c: c != str(best))
    return {
        "ranks": {cid: i + 1 for i, cid in enumerate(ids)},
        "ratings": {cid: dict.fromkeys(AXES, 5) for cid in ids},
        "strength": "better",
    }


def label_all(project, users, *, prefer):
    """Each user labels every item the claim serves them, preferring `prefer(item)`; returns the labels."""
    labels = []
    for user in users:
        while (task := labeling.work_item_claim_next(project=project, user=user)) is not None:
            labels.append(
                labeling.ranking_submit(
                    user=user, assignment_id=task.pk, payload=ranking(task.work_item, prefer(task.work_item))
                )
            )
    return labels


def small_world(project, base_url) -> dict:
    """A set of three prompts with references and two configs on one server (the API and page tests)."""
    return {
        "set": make_set(project, 3),
        "test": make_config(project, base_url, "test"),
        "base": make_config(project, base_url, "base"),
    }
