"""Two fully populated projects for the security sweeps: every object type a URL can address exists
in each, so a request can aim at project A's objects from project B.

Objects are written directly or through the services (no queue, no broker); see build_project."""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from labelhub.accounts.models import User
from labelhub.accounts.services import api_token_create
from labelhub.evaluation.services.sets import evaluation_set_create
from labelhub.exports.models import ExportSnapshot, SnapshotStatus
from labelhub.generation.models import GenerationBatch, GenerationJob, JobStatus, ModelConfig
from labelhub.labeling.models import Assignment, AssignmentStatus, Quarantine, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import Membership, Role
from labelhub.prompts import services as prompt_services
from labelhub.quality.models import GoldStandard, QualityAction, QualityEvent

from ..exports import builders as b
from ..factories import UserFactory

SNAPSHOT_BYTES = b'{"messages": [{"role": "user", "content": "frozen"}]}\n'


@dataclass
class World:
    """One project and its objects. `secret` appears in the project's name and texts: a response
    to an outsider must never contain it."""

    project: object
    secret: str
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.objects[key]


def build_project(staff: User, tag: str) -> World:
    """Project `tag` with a user per role (plus a second labeler), guidelines v1/v2 and a draft, an
    import, prompts with candidates, a model config with a batch (one failed and one done job), a
    labeler's open comparison and demonstration tasks (with a draft), a label pending review, a
    disputed item, a gold item, a quarantined labeler with its event, a finished snapshot with its
    file, and an API token."""
    secret = f"SECRET-{tag}-{hashlib.sha256(tag.encode()).hexdigest()[:8]}"
    project = project_services.project_create(user=staff, name=f"Project {secret}")
    w = World(project=project, secret=secret)
    for key, role in (
        ("admin", Role.ADMIN),
        ("labeler", Role.LABELER),
        ("labeler2", Role.LABELER),
        ("reviewer", Role.REVIEWER),
        ("engineer", Role.ENGINEER),
    ):
        user = UserFactory(username=f"{tag}-{key}")
        project_services.membership_add(project=project, username=user.username, role=role)
        w.users[key] = user
    o = w.objects
    o["membership"] = Membership.objects.get(project=project, user=w.users["labeler2"])
    project_services.guideline_version_publish(project=project, user=staff, change_note="v1", content=f"# v1 {secret}")
    v2 = project_services.guideline_version_publish(
        project=project, user=staff, change_note="v2", content=f"# v2 {secret}"
    )
    project_services.guideline_draft_save(project=project, user=staff, content=f"# draft {secret}")
    for key in ("labeler", "labeler2", "reviewer", "admin"):
        project_services.guideline_acknowledge(project=project, user=w.users[key], number=v2.number)
    o["version"] = v2

    data = f'{{"prompt": "Imported {secret}", "candidates": [{{"content": "x"}}, {{"content": "y"}}]}}\n'.encode()
    o["import"] = prompt_services.prompt_import_start(
        project=project, user=staff, chunks=iter([data]), filename="prompts.jsonl"
    )
    assert o["import"].status == "done", o["import"].message

    config = ModelConfig.objects.create(
        project=project, name=f"cfg {secret}", base_url="http://127.0.0.1:9/v1", model="m"
    )
    o["config"] = config

    labeler, labeler2, reviewer = w.users["labeler"], w.users["labeler2"], w.users["reviewer"]
    now = timezone.now()

    # An open comparison task and an open demonstration task held by `labeler` (with a draft).
    p_open, cands = b.prompt(project, f"Open question {secret}", candidates=["A one", "A two"])
    o["prompt"], o["candidate"] = p_open, cands[0]
    o["open_comparison"] = b.comparison(project, p_open, cands)
    o["open_demonstration"] = b.demonstration_item(project, p_open)
    for item in (o["open_comparison"], o["open_demonstration"]):
        Assignment.objects.create(
            work_item=item,
            user=labeler,
            status=AssignmentStatus.ACTIVE,
            claimed_at=now,
            lease_expires_at=now + timedelta(minutes=30),
            display_order=list(item.candidate_ids),
            guideline_version=v2,
            draft={"content": f"draft {secret}"},
            draft_saved_at=now,
        )
        WorkItem.objects.filter(pk=item.pk).update(taken=1)

    # A label waiting for review (by labeler2), and an item whose labels disagree.
    p_rev, rev_cands = b.prompt(project, f"Reviewed question {secret}", candidates=["R one", "R two"])
    reviewed_item = b.comparison(project, p_rev, rev_cands)
    o["label"] = b.label(reviewed_item, labeler2, v2, ranks={rev_cands[0]: 1, rev_cands[1]: 2}, strength="better")
    p_dis, dis_cands = b.prompt(project, f"Disputed question {secret}", candidates=["D one", "D two"])
    disputed = b.comparison(project, p_dis, dis_cands, overlap=2)
    o["disputed_label"] = b.label(disputed, labeler, v2, ranks={dis_cands[0]: 1, dis_cands[1]: 2})
    b.label(disputed, labeler2, v2, ranks={dis_cands[0]: 2, dis_cands[1]: 1})
    WorkItem.objects.filter(pk=disputed.pk).update(needs_adjudication=True)
    o["disputed"] = disputed
    o["disputed_candidates"] = dis_cands

    # A label of `labeler` a reviewer rejected (they may reopen it to fix it), the comment secret.
    p_rej, rej_cands = b.prompt(project, f"Rejected question {secret}", candidates=["X one", "X two"])
    rejected_item = b.comparison(project, p_rej, rej_cands)
    o["rejected_label"] = b.label(
        rejected_item, labeler, v2, ranks={rej_cands[0]: 1, rej_cands[1]: 2}, strength="better",
        review_status="rejected", reviewed_by=reviewer, review_comment=f"fix {secret}", reviewed_at=now,
    )  # fmt: skip
    Assignment.objects.filter(pk=o["rejected_label"].assignment_id).update(status=AssignmentStatus.REJECTED)

    # A gold item.
    p_gold, gold_cands = b.prompt(project, f"Gold question {secret}", candidates=["G one", "G two"])
    gold_item = b.comparison(project, p_gold, gold_cands)
    GoldStandard.objects.create(
        work_item=gold_item, project=project, pairs=[[str(gold_cands[0].pk), str(gold_cands[1].pk)]], note=secret
    )
    WorkItem.objects.filter(pk=gold_item.pk).update(is_gold=True)
    o["gold_item"], o["gold_candidates"] = gold_item, gold_cands

    # Generation: a batch with a failed and a done job.
    batch = GenerationBatch.objects.create(project=project, model_config=config, mode="prompts", job_count=2)
    o["batch"] = batch
    o["job"] = GenerationJob.objects.create(
        batch=batch,
        project=project,
        prompt=p_open,
        model_config=config,
        sample_index=0,
        status=JobStatus.FAILED,
        task_id="t-failed",
        error=f"boom {secret}",
    )
    GenerationJob.objects.create(
        batch=batch, project=project, prompt=p_open, model_config=config, sample_index=1, status=JobStatus.DONE
    )

    # Evaluation runs (RUNS stream): a set of one prompt with its reference, and a run against it.
    from labelhub.evaluation.models import EvaluationRun, EvaluationSet, EvaluationSetPrompt
    from labelhub.prompts.models import Candidate

    run_set = EvaluationSet.objects.create(project=project, name=f"runs set {secret}", prompt_count=1)
    reference = Candidate.objects.create(prompt=p_open, content=f"reference {secret}", source="reference")
    EvaluationSetPrompt.objects.create(evaluation_set=run_set, prompt=p_open, reference=reference)
    o["run_set"] = run_set
    o["run"] = EvaluationRun.objects.create(
        project=project, evaluation_set=run_set, number=1, model_config=config, baseline_kind="reference",
        status="labeling", created_by=staff,
    )  # fmt: skip

    # labeler2 is quarantined (release), `labeler` is not (quarantine).
    Quarantine.objects.create(project=project, user=labeler2, reason=f"why {secret}", created_by=staff)
    QualityEvent.objects.create(
        project=project, actor=staff, subject=labeler2, action=QualityAction.QUARANTINE, reason=f"why {secret}"
    )
    o["quarantined"], o["not_quarantined"] = labeler2, labeler

    # A finished snapshot with its file.
    key = uuid.uuid4()
    snapshot = ExportSnapshot.objects.create(
        key=key,
        project=project,
        created_by=staff,
        kind="sft",
        format="trl-messages",
        status=SnapshotStatus.DONE,
        file_name=f"{key}-{hashlib.sha256(tag.encode()).hexdigest()[:12]}.jsonl",  # as snapshot_build names it
        rows=1,
        size_bytes=len(SNAPSHOT_BYTES),
        sha256=hashlib.sha256(SNAPSHOT_BYTES).hexdigest(),
        finished_at=now,
    )
    path = Path(settings.MEDIA_ROOT) / snapshot.relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(SNAPSHOT_BYTES)
    o["snapshot"] = snapshot

    # An evaluation set holding a prompt of its own, with a reference answer (evaluation sets stream).
    p_eval, _ = b.prompt(project, f"Held-out question {secret}")
    o["eval_prompt"] = p_eval
    o["evaluation_set"] = evaluation_set_create(
        project=project, user=staff, name=f"eval {secret}", description=secret, prompt_ids=[p_eval.pk],
        references={str(p_eval.pk): f"Reference {secret}"},
    )  # fmt: skip

    token, _key = api_token_create(user=labeler, name=f"token {secret}")
    o["token"] = token
    o["reviewer"] = reviewer
    _triage(w, v2)
    return w


def _triage(w: World, version) -> None:
    """A finished evaluation run with a condemned answer (triage stream): its set, run and triage item."""
    from labelhub.evaluation.services.triage import triage_items_create

    from ..evaluation import triage_builders as tb

    prompt, _ = b.prompt(w.project, f"Evaluated question {w.secret}")
    w.objects["triage_set"] = tb.evaluation_set(w.project, [prompt], name=f"set {w.secret}")
    run = tb.run(w.objects["triage_set"])
    pair = tb.pair(run, prompt, test_text=f"condemned {w.secret}", baseline_text=f"baseline {w.secret}")
    tb.judge(pair, w.users["labeler"], version, result="loss", rationale=f"why {w.secret}")
    triage_items_create(run=run)
    w.objects["triage_run"], w.objects["triage_item"] = run, run.triage_items.get()


def _models():
    from django.apps import apps

    return [m for m in apps.get_models() if m.__module__.startswith("labelhub.") or m is User]


# Bookkeeping of the requests themselves, left out of the fingerprint: a login's time, a token's last use.
VOLATILE = ("last_login", "last_used_at")


def fingerprint() -> dict:
    """A digest of every row of every labelhub table (and users), and the files under MEDIA_ROOT, to
    prove that a refused request wrote nothing. One query on PostgreSQL."""
    state = {}
    if connection.vendor == "postgresql":
        parts = []
        for model in _models():
            table, pk = connection.ops.quote_name(model._meta.db_table), model._meta.pk.column
            drop = "".join(f" - '{c}'" for c in VOLATILE)
            # Table and column names come from the models.
            sql = f"SELECT '{model._meta.label}', md5(coalesce(string_agg((to_jsonb(t){drop})::text, ',' "
            sql += f"ORDER BY t.{connection.ops.quote_name(pk)}), '')) FROM {table} t"
            parts.append(sql)
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts))
            state.update(cursor.fetchall())
    else:
        for model in _models():
            rows = list(model.objects.order_by("pk").values())
            for row in rows:
                for column in VOLATILE:
                    row.pop(column, None)
            state[model._meta.label] = rows
    media = Path(settings.MEDIA_ROOT)
    state["files"] = sorted((str(p.relative_to(media)), p.read_bytes()) for p in media.rglob("*") if p.is_file())
    return state
