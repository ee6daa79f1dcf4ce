"""Evaluation runs made directly with the ORM for the report tests (the run services are another
stream's): a set, a run, pairs with their evaluation work items, assignments and labels, and the same
outcomes as plain report.SimPair values, so the report of the database and the pure one can be compared."""

from labelhub.evaluation import report as R
from labelhub.evaluation.models import EvaluationPair, EvaluationRun, EvaluationSet, RunStatus
from labelhub.generation.models import ModelConfig
from labelhub.projects import services as project_services
from tests.exports import builders
from tests.factories import UserFactory

RESULT_RANKS = {"win": (1, 2), "loss": (2, 1), "tie": (1, 1)}


def spec(i: int, labels_per_pair: int = 3) -> dict:
    """A deterministic, varied pair: results, order, answers, flags and safety verdicts."""
    cycle = ["win", "loss", "tie", "win", "both_bad", "win", "loss"]
    labels = [
        {
            "result": cycle[(i + j) % len(cycle)],
            "test_first": (i + j) % 2 == 0,
            "test": {"helpful": 1 + (i + j) % 7, "correct": (i + 2 * j) % 3 != 0},
            "baseline": {"helpful": 1 + (i * j) % 7, "correct": (i + j) % 2 == 0},
            "test_flags": ["wrong"] if (i + j) % 5 == 0 else [],
            "baseline_flags": ["rude"] if (i + j) % 4 == 0 else [],
            "test_unsafe": (i * j) % 9 == 1,
            "baseline_unsafe": (i + j) % 11 == 3,
        }
        for j in range(labels_per_pair)
    ]
    return {
        "track": ["helpful", "code"][i % 2],
        "tags": [f"tag{i % 3}"] + (["extra"] if i % 5 == 0 else []),
        "category": ["math", "prose", ""][i % 3],
        "test_text": "# Title\n- a\n- b\n" + "word " * (10 + i % 13),
        "baseline_text": "**b** " + "word " * (12 + i % 7),
        "labels": labels,
    }


def sim_pairs(specs: list[dict]) -> list:
    return [
        R.SimPair(
            i, i, s["track"], tuple(s["tags"]), None, None, s["test_text"], s["baseline_text"], None, None,
            tuple(
                R.SimLabel(
                    0, 0, lb["result"], lb["test_first"],
                    {**lb["test"], **({"flags": lb["test_flags"]} if lb["test_flags"] else {})},
                    {**lb["baseline"], **({"flags": lb["baseline_flags"]} if lb["baseline_flags"] else {})},
                    lb["test_unsafe"], lb["baseline_unsafe"], 30_000, 0,
                )
                for lb in s["labels"]
            ),
            s["category"],
        )
        for i, s in enumerate(specs)
    ]  # fmt: skip


class World:
    def __init__(self, project, staff):
        self.project, self.staff = project, staff
        self.version = project_services.guideline_version_publish(
            project=project, user=staff, change_note="v1", content="x"
        )
        self.set = EvaluationSet.objects.create(project=project, name="core", created_by=staff)
        self.test_config = ModelConfig.objects.create(project=project, name="new", base_url="http://x/v1", model="m1")
        self.base_config = ModelConfig.objects.create(project=project, name="old", base_url="http://x/v1", model="m0")
        self.labelers = [UserFactory(username=f"rater{j}") for j in range(9)]
        self.prompts = {}

    def prompt(self, i: int, s: dict):
        if i not in self.prompts:
            p, _ = builders.prompt(self.project, f"prompt {i}", track=s["track"])
            p.tags, p.metadata = s["tags"], {"category": s["category"]} if s["category"] else {}
            p.save(update_fields=["tags", "metadata"])
            self.prompts[i] = p
        return self.prompts[i]

    def run(self, specs: list[dict], *, number: int = 1, status=RunStatus.LABELING, thresholds=None) -> EvaluationRun:
        run = EvaluationRun.objects.create(
            project=self.project, evaluation_set=self.set, number=number, model_config=self.test_config,
            baseline_kind="config", baseline_config=self.base_config, labels_per_pair=3, status=status,
            thresholds=thresholds or {},
        )  # fmt: skip
        for i, s in enumerate(specs):
            self.pair(run, self.prompt(i, s), s)
        return run

    def pair(self, run, prompt, s):
        from labelhub.prompts.models import Candidate

        test = Candidate.objects.create(prompt=prompt, content=s["test_text"], source="generated", model_name="m1")
        base = Candidate.objects.create(prompt=prompt, content=s["baseline_text"], source="generated", model_name="m0")
        item = builders.comparison(self.project, prompt, [test, base], overlap=len(s["labels"]))
        item.purpose, item.origin = "evaluation", {"evaluation_run": run.pk, "evaluation_set": self.set.pk}
        item.save(update_fields=["purpose", "origin"])
        EvaluationPair.objects.create(run=run, prompt=prompt, candidate=test, baseline_candidate=base, work_item=item)
        for j, lb in enumerate(s["labels"]):
            t, b = str(test.pk), str(base.pk)
            ranks = RESULT_RANKS.get(lb["result"])
            builders.label(
                item, self.labelers[j], self.version,
                display_order=[test.pk, base.pk] if lb["test_first"] else [base.pk, test.pk],
                ranks={t: ranks[0], b: ranks[1]} if ranks else {},
                all_bad=lb["result"] == "both_bad",
                ratings={t: lb["test"], b: lb["baseline"]},
                flags={k: v for k, v in ((t, lb["test_flags"]), (b, lb["baseline_flags"])) if v},
                safety={t: "unsafe" if lb["test_unsafe"] else "safe", b: "unsafe" if lb["baseline_unsafe"] else "safe"},
            )  # fmt: skip
