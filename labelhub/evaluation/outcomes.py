"""What the labels of a run said about each pair, read once, in a constant number of queries.

The one reader of an evaluation run's labels: the report (report.py via selectors) and the triage
(services/triage.py) both start from `pair_outcomes`. Everything is from the side of the model under
test: a label "wins" when it ranked the answer under test above the baseline's.
"""

from typing import NamedTuple

from labelhub.labeling.models import Label, Quarantine, ReviewStatus
from labelhub.projects.rubric import FLAGS, answers_of
from labelhub.prompts.models import Candidate

from .models import EvaluationPair, EvaluationRun

WIN, TIE, LOSS, BOTH_BAD = "win", "tie", "loss", "both_bad"
RESULTS = (WIN, TIE, LOSS, BOTH_BAD)


class LabelOutcome(NamedTuple):
    label_id: int
    user_id: int
    result: str  # one of RESULTS
    test_shown_first: bool  # the answer under test was on the left / first (position bias)
    test_answers: dict  # {question: value} given to the answer under test (flags included)
    baseline_answers: dict
    test_unsafe: bool | None  # None: no safety verdict asked or given
    baseline_unsafe: bool | None
    time_on_task_ms: int
    guideline_version_id: int


class PairOutcome(NamedTuple):
    pair_id: int
    prompt_id: int
    track: str
    tags: tuple[str, ...]
    candidate_id: int | None  # the answer under test
    baseline_candidate_id: int | None
    test_text: str
    baseline_text: str
    test_tokens: int | None
    baseline_tokens: int | None
    labels: tuple[LabelOutcome, ...]
    category: str = ""  # the prompt's metadata["category"] when it is a string (the report's breakdown)

    @property
    def test_flags(self) -> set[str]:
        return {f for label in self.labels for f in (label.test_answers.get(FLAGS) or ())}

    @property
    def baseline_flags(self) -> set[str]:
        return {f for label in self.labels for f in (label.baseline_answers.get(FLAGS) or ())}

    def count(self, result: str) -> int:
        return sum(1 for label in self.labels if label.result == result)


def _result(ranks: dict, all_bad: bool, test: str, baseline: str) -> str:
    if all_bad or test not in ranks or baseline not in ranks:
        return BOTH_BAD if all_bad else TIE
    if ranks[test] == ranks[baseline]:
        return TIE
    return WIN if ranks[test] < ranks[baseline] else LOSS


def _unsafe(safety: dict, cid: str) -> bool | None:
    verdict = (safety or {}).get(cid)
    return None if verdict is None else verdict == "unsafe"


def _label_outcome(label: Label, test: str, baseline: str) -> LabelOutcome:
    order = [str(c) for c in (label.display_order or [])]
    return LabelOutcome(
        label_id=label.pk,
        user_id=label.user_id,
        result=_result({str(k): v for k, v in (label.ranks or {}).items()}, label.all_bad, test, baseline),
        test_shown_first=bool(order) and order[0] == test,
        test_answers=answers_of(label.ratings, label.flags, test),
        baseline_answers=answers_of(label.ratings, label.flags, baseline),
        test_unsafe=_unsafe(label.safety, test),
        baseline_unsafe=_unsafe(label.safety, baseline),
        time_on_task_ms=label.time_on_task_ms,
        guideline_version_id=label.guideline_version_id,
    )


_LABEL_FIELDS = (
    "pk", "work_item_id", "user_id", "ranks", "all_bad", "ratings", "flags", "safety", "display_order",
    "time_on_task_ms", "guideline_version_id",
)  # fmt: skip
_PAIR_FIELDS = (
    "pk", "prompt_id", "candidate_id", "baseline_candidate_id", "work_item_id", "prompt__track", "prompt__tags",
    "prompt__metadata",
)  # fmt: skip


def _labels_by_item(run: EvaluationRun, item_ids: list[int]) -> dict[int, list[Label]]:
    """Live labels (not rejected in review), from labelers not quarantined now."""
    quarantined = Quarantine.objects.filter(project_id=run.project_id, active=True).values("user_id")
    labels = (
        Label.objects.filter(work_item_id__in=item_ids)
        .exclude(review_status=ReviewStatus.REJECTED)
        .exclude(user_id__in=quarantined)
        .only(*_LABEL_FIELDS)
        .order_by("work_item_id", "id")
    )
    out: dict[int, list[Label]] = {}
    for label in labels:
        out.setdefault(label.work_item_id, []).append(label)
    return out


def _category(metadata) -> str:
    category = metadata.get("category") if isinstance(metadata, dict) else None
    return category.strip()[:100] if isinstance(category, str) else ""


def pair_outcomes(*, run: EvaluationRun) -> list[PairOutcome]:
    """Every pair of the run with what its labels said, in pair order (4 queries whatever the size)."""
    pairs = list(EvaluationPair.objects.filter(run=run).select_related("prompt").only(*_PAIR_FIELDS).order_by("id"))
    ids = {c for p in pairs for c in (p.candidate_id, p.baseline_candidate_id) if c}
    rows = Candidate.objects.filter(pk__in=ids).values_list("pk", "content", "completion_tokens")
    texts = {pk: (content, tokens) for pk, content, tokens in rows}
    labels = _labels_by_item(run, [p.work_item_id for p in pairs if p.work_item_id])
    out = []
    for p in pairs:
        test, baseline = str(p.candidate_id), str(p.baseline_candidate_id)
        test_text, test_tokens = texts.get(p.candidate_id, ("", None))
        base_text, base_tokens = texts.get(p.baseline_candidate_id, ("", None))
        out.append(
            PairOutcome(
                pair_id=p.pk,
                prompt_id=p.prompt_id,
                track=p.prompt.track,
                tags=tuple(p.prompt.tags or ()),
                candidate_id=p.candidate_id,
                baseline_candidate_id=p.baseline_candidate_id,
                test_text=test_text,
                baseline_text=base_text,
                test_tokens=test_tokens,
                baseline_tokens=base_tokens,
                labels=tuple(_label_outcome(label, test, baseline) for label in labels.get(p.work_item_id, ())),
                category=_category(p.prompt.metadata),
            )
        )
    return out
