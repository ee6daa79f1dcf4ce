from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from labelhub.core.exceptions import NotFound
from labelhub.core.ids import id_or_404
from labelhub.core.pagination import BoundedCount, bounded_count, keyset_page
from labelhub.projects.models import Project
from labelhub.projects.permissions import Capability
from labelhub.projects.selectors import ProjectAccess

from .models import Candidate, ImportStatus, ProjectTag, Prompt, PromptImport

FILTER_KEYS = ("track", "tag", "q")


def _with_tag(qs: QuerySet[Prompt], tag: str) -> QuerySet[Prompt]:
    """Prompts carrying `tag`: jsonb containment (GIN-indexed) on PostgreSQL, json_each on SQLite."""
    if connection.vendor == "postgresql":
        return qs.filter(tags__contains=[tag])
    where = f"EXISTS (SELECT 1 FROM json_each({Prompt._meta.db_table}.tags) WHERE json_each.value = %s)"  # noqa: S608
    return qs.extra(where=[where], params=[tag])  # noqa: S610 - the tag is a bound parameter


def prompt_list(*, project: Project, track: str = "", tag: str = "", q: str = "") -> QuerySet[Prompt]:
    """Prompts of one project, newest first, with their candidate count (one query per page)."""
    qs = Prompt.objects.filter(project=project)
    if track:
        qs = qs.filter(track=track)
    if tag:
        qs = _with_tag(qs, tag)
    if q:
        qs = qs.filter(text__icontains=q)
    return qs.annotate(candidate_count=_candidate_count()).order_by("-id")


def _candidate_count():
    """A prompt's candidates, counted in a correlated subquery: evaluated for the page's rows only,
    after the LIMIT. (A join + GROUP BY counted them for every matching prompt before the LIMIT:
    240 ms for a search matching 10,000 prompts of a 1M-prompt project.)"""
    counts = Candidate.objects.filter(prompt=OuterRef("pk")).order_by().values("prompt").annotate(n=Count("pk"))
    return Coalesce(Subquery(counts.values("n")), 0)


def prompts_ready_for_work(*, project: Project) -> QuerySet[Prompt]:
    """The project's prompts that may become training work: not those of an import still being
    written (on SQLite an import commits batch by batch; it may yet fail and delete them), nor those
    held out for evaluation (an evaluation set holds them; exports leave their labels out)."""
    return Prompt.objects.filter(project=project, held_out=False).filter(
        Q(source_import__isnull=True) | Q(source_import__status=ImportStatus.DONE)
    )


def prompt_get(*, project: Project, prompt_id) -> Prompt:
    prompt_id = id_or_404(prompt_id, label="Prompt")
    prompt = Prompt.objects.filter(project=project, pk=prompt_id).select_related("created_by").first()
    if prompt is None:
        raise NotFound("Prompt not found.")
    return prompt


def prompt_candidates(*, prompt: Prompt) -> QuerySet[Candidate]:
    return Candidate.objects.filter(prompt=prompt).order_by("id")


def candidate_provenance(candidate: Candidate) -> dict:
    """Everything stored about where a candidate came from, for those who may see it
    (Capability.SEE_PROVENANCE): the one owner of that list, used by every API and page that shows
    a candidate with its provenance. Labelers and reviewers get a candidate's id and text only.

    `provenance` is the JSON stored with the candidate, as stored (import line, job, attempt...);
    the fields beside it are read from the columns, or from that JSON for a generated candidate."""
    stored = candidate.provenance if isinstance(candidate.provenance, dict) else {}
    sampling = stored.get("sampling") if isinstance(stored.get("sampling"), dict) else {}
    return {
        "source": candidate.source,
        "model_name": candidate.model_name,
        "model_requested": stored.get("model_requested"),
        "model_reported": stored.get("model_reported"),
        "config_id": candidate.model_config_id if candidate.model_config_id else stored.get("config_id"),
        "config_name": stored.get("config_name"),
        "sampling": sampling or None,
        "seed": sampling.get("seed"),
        "system_prompt": stored.get("system_prompt"),
        "finish_reason": candidate.finish_reason or None,
        "prompt_tokens": candidate.prompt_tokens,
        "completion_tokens": candidate.completion_tokens,
        "latency_ms": candidate.latency_ms,
        "generated_at": stored.get("generated_at"),
        "created_at": candidate.created_at,
        "sanitized": stored.get("sanitized") or None,
        "raw_escaped": candidate.raw_escaped or None,
        "provenance": candidate.provenance,
    }


def candidates_shown(*, access: ProjectAccess, candidates) -> list[dict]:
    """Candidates for a page, as {"candidate", "provenance"}: with their full provenance
    (`candidate_provenance`, rendered by prompts/_candidate_provenance.html) for roles that may see
    it, with None for labelers and reviewers (the page then shows the text only)."""
    see = access.can(Capability.SEE_PROVENANCE)
    return [{"candidate": c, "provenance": candidate_provenance(c) if see else None} for c in candidates]


def prompt_tag_names(*, project: Project, limit: int = 200) -> list[str]:
    return list(ProjectTag.objects.filter(project=project).values_list("name", flat=True).order_by("name")[:limit])


def prompt_import_get(*, project: Project, import_id) -> PromptImport:
    import_id = id_or_404(import_id, label="Import")
    imp = PromptImport.objects.filter(project=project, pk=import_id).first()
    if imp is None:
        raise NotFound("Import not found.")
    from .services import prompt_import_progress

    imp.processed_lines = prompt_import_progress(prompt_import=imp)
    return imp


def prompt_import_list(*, project: Project, limit: int = 20) -> QuerySet[PromptImport]:
    return PromptImport.objects.filter(project=project).select_related("created_by").order_by("-id")[:limit]


def prompt_count(*, project: Project) -> BoundedCount:
    """How many prompts the project holds, up to 10,000 ("10,000+"): one COUNT over at most 10,001
    index entries, however large the project."""
    return bounded_count(Prompt.objects.filter(project=project))


def prompt_page(
    *, project: Project, track: str = "", tag: str = "", q: str = "", before=None, size: int = 50
) -> tuple[list[Prompt], int | None]:
    """One keyset page of `prompt_list` (newest first): prompts with id < `before`.

    Returns (prompts, next_before): fetches size + 1 rows to know whether an older page exists,
    so the filtered set is never COUNTed. `next_before` is None on the last page."""
    qs = prompt_list(project=project, track=track, tag=tag, q=q)
    return keyset_page(qs, cursor=before, size=size, newest_first=True)
