"""The quality pages: the statistics dashboard (inline SVG charts of the stored ProjectStats row),
the labeler table with quarantine and the event log, the leaderboard, and adjudication.

Statistics are fabricated: ProjectStats rows are written directly with a `data` dict of the shape
labelhub.quality.stats builds. No broker: the recompute task's apply_async is replaced by a recorder
(`sent`), and the cache (which holds the "request in flight" lock) is a local one."""

import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from labelhub.generation.models import ModelConfig
from labelhub.labeling.models import Label, Quarantine, ReviewStatus, WorkItem
from labelhub.projects import services as project_services
from labelhub.projects.models import GuidelineVersion, Project, Role
from labelhub.projects.rubric import PRESETS
from labelhub.quality import tasks
from labelhub.quality.models import ProjectStats, QualityAction, QualityEvent
from labelhub.quality.stats import project_stats_compute
from labelhub.quality.templatetags import quality_charts as charts

from ..exports import builders as b
from ..factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
ROLES = (Role.ADMIN, Role.REVIEWER, Role.ENGINEER, Role.LABELER)
STATS_ROLES = (Role.ADMIN, Role.REVIEWER, Role.ENGINEER)  # MANAGE, REVIEW or EXPORT
PROVENANCE_ROLES = (Role.ADMIN, Role.ENGINEER)  # SEE_PROVENANCE: the leaderboard names models


@pytest.fixture(autouse=True)
def _local_cache(settings):
    """The stats request lock lives in the cache: keep it out of the shared Redis."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def sent(monkeypatch):
    """What would have gone to the broker: the kwargs of each project_stats_task.apply_async."""
    calls = []
    monkeypatch.setattr(tasks.project_stats_task, "apply_async", lambda *a, **kw: calls.append(kw))
    return calls


def labeler_row(user_id, username, **extra):
    row = {
        "labeler_id": user_id, "username": username, "labels": 40, "demonstrations": 10, "comparisons": 30,
        "median_time_ms": 2500, "labels_per_hour": 55.5, "skip_rate": 0.05,
        "position_bias": {"observed": 0.62, "expected": 0.33, "n": 30, "z": 3.4, "p_value": 0.0004},
        "length_bias": {"share": 0.8, "longer_chosen": 20, "n": 25, "p_value": 0.002},
        "agreement": {"value": 0.51, "n": 44}, "gold": {"accuracy": 0.5, "n": 6},
        "first_label_at": "2026-01-02T10:00:00+00:00", "last_label_at": "2026-01-05T18:30:00+00:00",
        "flags": ["too_fast", "position_bias", "length_bias", "low_gold_accuracy", "low_agreement"],
    }  # fmt: skip
    return {**row, **extra}


def model_row(rank, name, key, config_id=None, score=1000.0):
    return {
        "key": key, "name": name, "config_id": config_id, "score": score, "low": score - 40, "high": score + 35,
        "rank": rank, "rank_ub": rank, "comparisons": 120, "win_rate": 0.55,
        "axes": {"helpful": 5.1, "truthful": 4.8, "harmless": 6.2}, "flag_rate": 0.1, "unsafe_rate": 0.02,
    }  # fmt: skip


def interval(value, low=None, high=None, items=30, enough=True) -> dict:
    return {"value": value, "low": low, "high": high, "items": items, "values": items * 6, "enough_data": enough}


def scale_row(name, label, **extra) -> dict:
    row = {"key": name, "name": name, "label": label, "type": "scale", "level": "interval", "digest": "d" + name,
           "versions": [1], "min": 1, "max": 7}  # fmt: skip
    return row | extra


FLAG_ROW = {"key": "flags", "name": "flags", "label": "Problems", "type": "multi", "level": "set", "digest": "dflags",
            "versions": [1], "options": ["refusal", "hallucination"]}  # fmt: skip
HHH_LEVELS = [
    {"name": "much_better", "label": "Much better", "margin": 3, "unsure": False},
    {"name": "better", "label": "Better", "margin": 2, "unsure": False},
    {"name": "slightly_better", "label": "Slightly better", "margin": 1, "unsure": False},
    {"name": "negligibly_better", "label": "Negligibly better", "margin": 0, "unsure": True},
]


def counts(domain, ns) -> list[dict]:
    return [{"value": v, "n": n} for v, n in zip(domain, ns, strict=True)]


def full_data(labelers, *, models=None, days=5) -> dict:
    """A complete `data` dict: labelers = [(user_id, username)], models = leaderboard rows."""
    models = models if models is not None else [
        model_row(1, "model-alpha", "model:model-alpha", score=1060.0),
        model_row(2, "model-beta", "model:model-beta", score=990.0),
        model_row(3, "model-gamma", "model:model-gamma", score=950.0),
    ]  # fmt: skip
    keys = [m["key"] for m in models]
    progress, total = [], 0
    for i in range(days):
        total += 10 + i
        progress.append({"date": (timezone.now().date() - timedelta(days=days - i)).isoformat(), "labels": 10 + i,
                         "cumulative": total})  # fmt: skip
    n = len(models)
    share = [[None if i == j else (0.7 if i < j else 0.3) for j in range(n)] for i in range(n)]
    return {
        "labels": total, "comparisons": total - 10, "demonstrations": 10, "progress": progress,
        "agreement": {
            "pairwise": {"value": 0.71, "low": 0.66, "high": 0.75, "n": 900, "items": 120},
            "kendall_tau": {"value": 0.42, "pairs": 118},
            "alpha": {"helpful": 0.55, "truthful": -0.12, "harmless": None, "flags": 0.4},
            "questions": [
                scale_row("helpful", "Helpful") | interval(0.55, 0.4, 0.7),
                scale_row("truthful", "Truthful") | interval(-0.12, -0.3, 0.05),
                scale_row("harmless", "Harmless") | interval(None, items=3, enough=False),
                FLAG_ROW | interval(0.4, 0.2, 0.6)
                | {"options": {"refusal": interval(0.5, 0.3, 0.7), "hallucination": interval(0.3, 0.1, 0.5)}},
            ],
            "by_guideline_version": {
                "1": {"value": 0.6, "low": 0.5, "high": 0.7, "n": 300, "items": 40},
                "2": {"value": None, "low": None, "high": None, "n": 0, "items": 0},
            },
            "by_track": {"helpful": {"value": 0.8, "low": 0.7, "high": 0.85, "n": 500, "items": 70}},
        },
        "labelers": [labeler_row(uid, name) for uid, name in labelers],
        "distributions": {
            "questions": [
                scale_row("helpful", "Helpful") | {"counts": counts(range(1, 8), [1, 2, 3, 10, 20, 15, 5])},
                scale_row("truthful", "Truthful") | {"counts": counts(range(1, 8), [0, 0, 1, 2, 3, 4, 5])},
                scale_row("harmless", "Harmless") | {"counts": counts(range(1, 8), [0, 0, 0, 0, 0, 1, 30])},
                FLAG_ROW | {"counts": counts(["refusal", "hallucination"], [4, 7]), "none": 40},
            ],
            "strength": {"better": 12, "much_better": 5, "negligibly_better": 3},
            "strength_levels": HHH_LEVELS,
            "unsure": 3,
            "flags": {"refusal": 4, "hallucination": 7},
            "safety": {"safe": 50, "unsafe": 2},
            "all_bad": 3,
        },
        "leaderboard": models,
        "leaderboard_scales": [{"key": k, "label": k.capitalize()} for k in ("helpful", "truthful", "harmless")],
        "win_matrix": {"players": [m["name"] for m in models], "keys": keys, "share": share,
                       "games": [[0 if i == j else 40 for j in range(n)] for i in range(n)]},
        "rules": {"min_labels": 20, "too_fast_share_of_median": 0.25, "too_fast_ms": 3000, "bias_p": 0.01,
                  "position_bias_gap": 0.15, "length_bias_gap": 0.2, "min_gold": 5, "low_gold_accuracy": 0.6,
                  "min_agreement_pairs": 30, "low_agreement": 0.55},
    }  # fmt: skip


def store(project, data, *, at=None) -> ProjectStats:
    stats, _ = ProjectStats.objects.update_or_create(
        project=project,
        defaults={"data": data, "label_count": data["labels"] if isinstance(data.get("labels"), int) else 0,
                  "computed_at": at or timezone.now(),
                  "duration_ms": 1234},
    )  # fmt: skip
    return stats


@pytest.fixture
def q(site):
    """`site` with stored statistics naming the project's labeler and reviewer."""
    members = site["members"]
    data = full_data([(members[Role.LABELER].pk, members[Role.LABELER].username),
                      (members[Role.REVIEWER].pk, members[Role.REVIEWER].username)])  # fmt: skip
    return {**site, "stats": store(site["project"], data)}


def url(project, name, **kwargs):
    return reverse(f"projects:quality:{name}", kwargs={"project_id": project.pk, **kwargs})


def disputed_item(project, labelers, *, version=None, prompt_text="Which answer is better?"):
    """A comparison item waiting for adjudication, one label per user in `labelers` (alternating)."""
    version = version or GuidelineVersion.objects.filter(project=project).latest("number")
    p, (good, bad) = b.prompt(project, prompt_text, candidates=["A good answer.", "A bad answer."])
    item = b.comparison(project, p, [good, bad], overlap=len(labelers))
    labels = [
        b.label(item, user, version, ranks={good: 1, bad: 2} if i % 2 == 0 else {good: 2, bad: 1},
                strength="better", rationale=f"Because {i}")
        for i, user in enumerate(labelers)
    ]  # fmt: skip
    WorkItem.objects.filter(pk=item.pk).update(needs_adjudication=True)
    item.refresh_from_db()
    return item, labels


# Role matrices -----------------------------------------------------------------------------------

PAGES = {
    "dashboard": STATS_ROLES,
    "labelers": STATS_ROLES,
    "leaderboard": PROVENANCE_ROLES,
    "adjudication": (Role.ADMIN, Role.REVIEWER),
}


@pytest.mark.parametrize("role", [*ROLES, "outsider"])
@pytest.mark.parametrize("page", list(PAGES))
def test_pages_by_role(q, client_for, role, page):
    response = client_for(q["members"][role]).get(url(q["project"], page))
    expected = 200 if role in PAGES[page] else 404 if role == "outsider" else 403
    assert response.status_code == expected
    if role == "outsider":
        assert q["project"].name not in response.content.decode()


@pytest.mark.parametrize("role", [*ROLES, "outsider"])
def test_recompute_by_role(q, client_for, sent, role):
    response = client_for(q["members"][role]).post(url(q["project"], "recompute"))
    if role in STATS_ROLES:
        assert response.status_code == 302
        assert sent == [{"kwargs": {"project_id": q["project"].pk}, "queue": "default"}]
    else:
        assert response.status_code == (404 if role == "outsider" else 403)
        assert sent == []


@pytest.mark.parametrize("role", [*ROLES, "outsider"])
def test_quarantine_and_release_by_role(q, client_for, role):
    project, target = q["project"], q["members"][Role.LABELER]
    client = client_for(q["members"][role])
    quarantine = client.post(url(project, "quarantine", user_id=target.pk), {"reason": "Too fast"})
    if role == Role.ADMIN:
        assert quarantine.status_code == 302
        assert Quarantine.objects.filter(project=project, user=target, active=True).count() == 1
    else:
        assert quarantine.status_code == (404 if role == "outsider" else 403)
        assert not Quarantine.objects.exists()
        Quarantine.objects.create(project=project, user=target, reason="set by a test", created_by=None)
    release = client.post(url(project, "release", user_id=target.pk), {"reason": "Fine now"})
    if role == Role.ADMIN:
        assert release.status_code == 302
        assert not Quarantine.objects.filter(active=True).exists()
    else:
        assert release.status_code == (404 if role == "outsider" else 403)
        assert Quarantine.objects.filter(active=True).count() == 1
        assert not QualityEvent.objects.exists()


@pytest.mark.parametrize("role", [*ROLES, "outsider"])
def test_adjudicate_by_role(q, client_for, role):
    members = q["members"]
    item, labels = disputed_item(q["project"], [members[Role.LABELER], UserFactory(username="other-labeler")])
    response = client_for(members[role]).post(
        url(q["project"], "adjudicate", work_item_id=item.pk), {"keep_label": labels[0].pk, "comment": "Agreed"}
    )
    item.refresh_from_db()
    if role in (Role.ADMIN, Role.REVIEWER):
        assert response.status_code == 302 and not item.needs_adjudication
    else:
        assert response.status_code == (404 if role == "outsider" else 403)
        assert item.needs_adjudication
        assert not Label.objects.filter(review_status=ReviewStatus.REJECTED).exists()


def test_anonymous_visitors_go_to_login(q, client_for):
    anonymous = client_for(None)
    project = q["project"]
    for page in ("dashboard", "labelers", "leaderboard", "adjudication", "status"):
        target = url(project, page)
        response = anonymous.get(target)
        assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={target}"
    posts = [
        url(project, "recompute"),
        url(project, "quarantine", user_id=q["members"][Role.LABELER].pk),
        url(project, "release", user_id=q["members"][Role.LABELER].pk),
        url(project, "adjudicate", work_item_id=1),
    ]
    for target in posts:
        response = anonymous.post(target, {"reason": "x", "keep_label": 1, "comment": "x"})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Quarantine.objects.exists()


def test_wrong_methods(q, client_for):
    client = client_for(q["members"][Role.ADMIN])
    project, labeler = q["project"], q["members"][Role.LABELER]
    for page in ("dashboard", "labelers", "leaderboard", "adjudication", "status"):
        assert client.post(url(project, page)).status_code == 405, page
    assert client.get(url(project, "recompute")).status_code == 405
    assert client.get(url(project, "quarantine", user_id=labeler.pk)).status_code == 405
    assert client.get(url(project, "release", user_id=labeler.pk)).status_code == 405
    assert client.get(url(project, "adjudicate", work_item_id=1)).status_code == 405


def test_nav_links(q, client_for):
    project = q["project"]
    detail = reverse("projects:detail", args=[project.pk])
    quality, leaderboard = url(project, "dashboard"), url(project, "leaderboard")
    for role in ROLES:
        html = client_for(q["members"][role]).get(detail).content.decode()
        assert (f'href="{quality}"' in html) == (role in STATS_ROLES), role
        assert leaderboard not in html, role  # the project nav links the quality dashboard, if anything
    html = client_for(q["members"][Role.ENGINEER]).get(quality).content.decode()
    assert f'href="{quality}" aria-current="page">Quality</a>' in html
    assert f'href="{leaderboard}">Leaderboard</a>' in html
    assert url(project, "adjudication") not in html  # engineers do not adjudicate
    html = client_for(q["members"][Role.ENGINEER]).get(leaderboard).content.decode()
    assert f'href="{leaderboard}" aria-current="page">Leaderboard</a>' in html
    # Reviewers see the dashboard without the leaderboard (tab or section): it names models.
    html = client_for(q["members"][Role.REVIEWER]).get(quality).content.decode()
    assert leaderboard not in html and "Model leaderboard" not in html and "model-alpha" not in html


# The dashboard -----------------------------------------------------------------------------------


def test_dashboard_draws_every_chart(q, client_for):
    html = client_for(q["members"][Role.ENGINEER]).get(url(q["project"], "dashboard")).content.decode()
    assert 'style="' not in html and "<script>" not in html.split("</head>")[1]  # CSP: no inline style/script
    svgs = re.findall(r'<svg class="qc-chart[^"]*" viewBox="[^"]+" role="img" aria-label="([^"]+)"', html)
    assert len(svgs) == 12, svgs  # progress, labelers, 2 agreement, alpha, 4 questions, strength, safety, leaderboard
    # Progress: one bar per day with a tooltip, the cumulative line, the data as a hidden table.
    assert html.count('<g class="qc-day"><title>') == 5
    assert '<polyline class="qc-line"' in html and "<caption>Labels per day</caption>" in html
    # Labels per labeler.
    assert f"<title>{q['members'][Role.LABELER].username}: 40 labels</title>" in html
    # Agreement: the 95 % interval as whiskers, "n/a" where undefined, negative alpha to the left.
    assert "<title>All items: 71.0% [66.0%, 75.0%] · 900 pairs</title>" in html
    assert "<title>Guidelines v2: n/a · 0 pairs</title>" in html
    assert "<title>Track helpful: 80.0% [70.0%, 85.0%] · 500 pairs</title>" in html
    # Rows with an interval: 2 + 2 groups, 3 models, 4 questions or options (harmless: not enough data).
    assert html.count('class="qc-ci"') == (2 + 2 + 3 + 5) * 3
    assert "<title>Truthful: -0.120 [-0.300, 0.050] · 180 answers</title>" in html
    assert "<title>Harmless: not enough data · 18 answers</title>" in html
    assert "<title>· hallucination: 0.300 [0.100, 0.500] · 180 answers</title>" in html
    # Distributions: each question over its own values, strength by the schema's levels (labels).
    assert "<title>Helpful 5: 20 answers (35.7%)</title>" in html
    assert "<title>hallucination: 7 answers</title>" in html and "<title>(none ticked): 40 answers</title>" in html
    assert "<title>Much better: 5 labels</title>" in html
    assert "<title>Negligibly better (unsure): 3 labels</title>" in html
    assert "<title>Unsafe: 2 answers</title>" in html
    # Leaderboard: chart, table and head-to-head heat map.
    assert "<title>1. model-alpha: 1,060 [1,020, 1,095] · 120 comparisons</title>" in html
    assert '<td class="num qc-heat-7" title="model-alpha beat model-beta in 70.0% over 40 comparisons">70%</td>' in html
    assert '<td class="num qc-heat-3"' in html and "qc-heat-self" in html
    assert "Kendall’s τ" in html and ">0.42<" in html and "(118 pairs of rankings)" in html
    assert "UB 2</div>" in html
    assert 'hx-post="' + url(q["project"], "recompute") + '"' in html


def test_field_names_of_the_first_stats_shape_render_too(site, client_for):
    """length_bias.observed (now .share) and kendall_tau.items (now .pairs) are read as well."""
    labeler = site["members"][Role.LABELER]
    data = full_data([(labeler.pk, labeler.username)])
    data["labelers"][0]["length_bias"] = {"observed": 0.3, "n": 25, "p_value": 0.002}
    data["agreement"]["kendall_tau"] = {"value": 0.42, "items": 118}
    # Before labeling schemas: alpha by axis only, 1..7 ratings, no strength levels, flags counted apart.
    del data["agreement"]["questions"], data["distributions"]["questions"], data["distributions"]["strength_levels"]
    del data["leaderboard_scales"]
    data["distributions"]["ratings"] = {"helpful": [1, 2, 3, 10, 20, 15, 5]}
    store(site["project"], data)
    client = client_for(site["members"][Role.ADMIN])
    html = client.get(url(site["project"], "dashboard")).content.decode()
    assert "(118 items)" in html and "<title>Helpful 5: 20 answers (35.7%)</title>" in html
    assert '<rect class="qc-bar qc-neg"' in html and "<title>Harmless: alpha n/a</title>" in html
    assert "<title>Hallucination: 7 times</title>" in html and "<title>Much better: 5 labels</title>" in html
    assert '<td class="num">5.10</td>' in client.get(url(site["project"], "leaderboard")).content.decode()
    assert "<dd>30.0% <span" in client.get(url(site["project"], "labelers")).content.decode()


def test_dashboard_tells_reviewers_about_disputed_items(q, client_for):
    disputed_item(q["project"], [q["members"][Role.LABELER], UserFactory(username="l2")])
    link = url(q["project"], "adjudication")
    html = client_for(q["members"][Role.REVIEWER]).get(url(q["project"], "dashboard")).content.decode()
    assert f'<a href="{link}">1 disputed item waits for adjudication.</a>' in html
    html = client_for(q["members"][Role.ENGINEER]).get(url(q["project"], "dashboard")).content.decode()
    assert "disputed item" not in html


@pytest.mark.parametrize("stored", [None, {}])
def test_empty_state(site, client_for, stored):
    if stored is not None:
        store(site["project"], stored)
    client = client_for(site["members"][Role.ADMIN])
    html = client.get(url(site["project"], "dashboard")).content.decode()
    assert "No statistics yet" in html and "computed by a worker a few minutes after labels arrive" in html
    assert "Recompute now</button>" in html and "<svg" not in html
    assert "No statistics yet" in client.get(url(site["project"], "labelers")).content.decode()
    assert "No statistics yet" in client.get(url(site["project"], "leaderboard")).content.decode()


def test_odd_stored_values_do_not_break_the_pages(site, client_for):
    """The stored JSON is read defensively: missing keys, None, strings and NaN draw n/a or nothing."""
    members = site["members"]
    data = {
        "labels": "many", "progress": [{"date": "2026-01-01"}, "junk", {"labels": "NaN"}],
        "agreement": {"pairwise": None, "alpha": {"helpful": "high"}, "by_track": []},
        "labelers": [{"labeler_id": members[Role.LABELER].pk, "flags": "too_fast", "position_bias": {}},
                     {"labeler_id": members[Role.REVIEWER].pk, "username": None, "labels": None}],
        "distributions": {"ratings": {"helpful": [1, 2]}, "strength": ["x"], "flags": None},
        "leaderboard": [{"name": "m", "score": None}, "junk"],
        "win_matrix": {"players": ["m", "n"], "keys": ["m"], "whatever": 3},
    }  # fmt: skip
    store(site["project"], data)
    client = client_for(members[Role.ADMIN])
    for page in ("dashboard", "labelers", "leaderboard"):
        response = client.get(url(site["project"], page))
        assert response.status_code == 200, page
        assert "n/a" in response.content.decode()


def test_dashboard_queries_do_not_grow_with_the_data(site, client_for, django_assert_max_num_queries):
    project, client = site["project"], client_for(site["members"][Role.ADMIN])
    store(project, full_data([(site["members"][Role.LABELER].pk, "a")], days=2))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(project, "dashboard")).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    many = [(10_000 + i, f"labeler-{i}") for i in range(300)]
    models = [model_row(i + 1, f"model-{i}", f"model:model-{i}", score=1000.0 - i) for i in range(25)]
    store(project, full_data(many, models=models, days=400))
    assert count() == small
    with django_assert_max_num_queries(8):  # session, user, membership, stats, quarantines, disputed items
        assert client.get(url(project, "dashboard")).status_code == 200
    engineer = client_for(site["members"][Role.ENGINEER])
    engineer.get(url(project, "leaderboard"))
    with django_assert_max_num_queries(5):  # session, user, membership, stats
        assert engineer.get(url(project, "leaderboard")).status_code == 200


# Recompute ---------------------------------------------------------------------------------------


def test_recompute_without_htmx_redirects_to_a_polling_dashboard(q, client_for, sent):
    client = client_for(q["members"][Role.REVIEWER])
    response = client.post(url(q["project"], "recompute"))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(url(q["project"], "dashboard") + "?after=")
    html = client.get(location).content.decode()
    assert "Recomputing the statistics on a worker" in html
    assert f'hx-get="{url(q["project"], "status")}?after=' in html and 'hx-trigger="every 5s"' in html
    # A second request while the first is in flight is not sent again, and says so.
    response = client.post(url(q["project"], "recompute"), follow=True)
    assert "A recomputation is already in flight" in response.content.decode()
    assert len(sent) == 1


def test_recompute_with_htmx_returns_the_polling_status_box(q, client_for, sent):
    client = client_for(q["members"][Role.ADMIN])
    response = client.post(url(q["project"], "recompute"), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="stats-status"') and 'hx-trigger="every 5s"' in body
    assert "Recomputing the statistics on a worker" in body
    again = client.post(url(q["project"], "recompute"), headers=HTMX).content.decode()
    assert "A recomputation is already in flight" in again and len(sent) == 1


def test_status_polls_until_new_statistics_are_stored(q, client_for):
    client = client_for(q["members"][Role.ENGINEER])
    status = url(q["project"], "status")
    after = f"{q['stats'].computed_at.timestamp():.6f}"
    waiting = client.get(status, {"after": after, "since": f"{time.time():.0f}"}, headers=HTMX)
    assert waiting.status_code == 200 and 'hx-trigger="every 5s"' in waiting.content.decode()
    assert "HX-Refresh" not in waiting
    # Given up after the lock's lifetime: says so and stops polling.
    stale = client.get(status, {"after": after, "since": f"{time.time() - 3600:.0f}"}, headers=HTMX).content.decode()
    assert "No new statistics yet" in stale and "hx-trigger" not in stale
    # New statistics: the page reloads.
    ProjectStats.objects.filter(pk=q["stats"].pk).update(computed_at=timezone.now() + timedelta(seconds=1))
    done = client.get(status, {"after": after, "since": f"{time.time():.0f}"}, headers=HTMX)
    assert done["HX-Refresh"] == "true"
    # Junk parameters: no polling; without htmx: the dashboard.
    junk = client.get(status, {"after": "nan", "since": "x"}, headers=HTMX).content.decode()
    assert "hx-trigger" not in junk
    response = client.get(status)
    assert response.status_code == 302 and response["Location"] == url(q["project"], "dashboard")


# Labelers, quarantine and the event log ------------------------------------------------------------


def test_labelers_table(q, client_for):
    labeler = q["members"][Role.LABELER]
    Quarantine.objects.create(project=q["project"], user=labeler, reason="Way too fast", created_by=None)
    html = client_for(q["members"][Role.ENGINEER]).get(url(q["project"], "labelers")).content.decode()
    row = html.split(f'<tr id="labeler-{labeler.pk}" class="qc-quarantined">')[1].split("</tr>")[0]
    assert '<span class="badge badge-failed">Quarantined</span>' in row
    for text in ("2.5 s", "55.5", "5.0%", "62.0%", "33.0%", "&lt; 0.001", "80.0%", "51.0%", "44 pairs",
                 "6 gold", "2026-01-02", "2026-01-05"):  # fmt: skip
        assert text in row, text
    assert 'title="Median time on task under 3 s or under 25% of the project&#x27;s median' in row
    assert ">Position bias</span>" in row and ">Low gold accuracy</span>" in row
    assert "Accuracy on gold items below 60% over at least 5 gold items." in html  # the legend
    # Engineers and reviewers see no forms and no log; admins do.
    assert "Quarantine…" not in html and "Quality event log" not in html and "Way too fast" not in html
    html = client_for(q["members"][Role.ADMIN]).get(url(q["project"], "labelers")).content.decode()
    assert "Release…" in html and "Quarantine…" in html and "Quality event log" in html
    assert "Way too fast" in html  # quarantines in force, with their reason


def test_quarantine_and_release_through_the_page(q, client_for):
    project, admin, labeler = q["project"], q["members"][Role.ADMIN], q["members"][Role.LABELER]
    client = client_for(admin)
    response = client.post(url(project, "quarantine", user_id=labeler.pk), {"reason": "  Median time 2.5 s  "})
    assert response.status_code == 302
    assert response["Location"] == f"{url(project, 'labelers')}#labeler-{labeler.pk}"
    quarantine = Quarantine.objects.get(project=project, user=labeler)
    assert quarantine.active and quarantine.reason == "Median time 2.5 s" and quarantine.created_by == admin
    event = QualityEvent.objects.get(project=project)
    assert (event.action, event.actor, event.subject, event.reason) == (
        QualityAction.QUARANTINE,
        admin,
        labeler,
        "Median time 2.5 s",
    )
    html = client.get(response["Location"]).content.decode()
    assert f"{labeler.username} is quarantined" in html
    assert f'<tr id="labeler-{labeler.pk}" class="qc-quarantined">' in html
    assert f'<tr id="event-{event.pk}">' in html and "Labeler quarantined" in html

    response = client.post(url(project, "release", user_id=labeler.pk), {"reason": "Retrained"})
    assert response.status_code == 302
    quarantine.refresh_from_db()
    assert not quarantine.active and quarantine.released_by == admin and quarantine.release_reason == "Retrained"
    latest = QualityEvent.objects.filter(project=project).first()
    assert (latest.action, latest.actor, latest.subject, latest.reason) == (
        QualityAction.RELEASE,
        admin,
        labeler,
        "Retrained",
    )
    html = client.get(url(project, "labelers")).content.decode()
    assert "Quarantine lifted" in html and "Labeler quarantined" in html
    assert html.index("Quarantine lifted") < html.index("Labeler quarantined")  # newest first


def test_refused_quarantines_re_render_with_400(q, client_for, staff):
    project, admin, labeler = q["project"], q["members"][Role.ADMIN], q["members"][Role.LABELER]
    client = client_for(admin)
    blank = client.post(url(project, "quarantine", user_id=labeler.pk), {"reason": "   "})
    assert blank.status_code == 400 and "This field is required." in blank.content.decode()
    assert f'id="row-quarantine-reason-{labeler.pk}"' in blank.content.decode()
    assert not Quarantine.objects.exists()
    release = client.post(url(project, "release", user_id=labeler.pk), {"reason": "Why not"})
    assert release.status_code == 400 and "is not quarantined in this project" in release.content.decode()
    assert client.post(url(project, "quarantine", user_id=labeler.pk), {"reason": "One"}).status_code == 302
    again = client.post(url(project, "quarantine", user_id=labeler.pk), {"reason": "Two"})
    html = again.content.decode()
    assert again.status_code == 400 and "is already quarantined in this project" in html
    assert 'id="labeler-' in html and "Quality event log" in html  # the whole page again
    myself = client.post(url(project, "quarantine", user_id=admin.pk), {"reason": "Me"})
    assert myself.status_code == 400 and "You cannot quarantine yourself." in myself.content.decode()
    long = client.post(url(project, "quarantine", user_id=q["members"][Role.REVIEWER].pk), {"reason": "x" * 2001})
    assert long.status_code == 400
    assert client.post(url(project, "quarantine", user_id=999_999), {"reason": "Who"}).status_code == 404
    outsider = q["members"]["outsider"]
    assert client.post(url(project, "quarantine", user_id=outsider.pk), {"reason": "Who"}).status_code == 404
    assert Quarantine.objects.count() == 1 and QualityEvent.objects.count() == 1


def test_event_log_shows_the_system_and_details(q, client_for):
    project = q["project"]
    for i in range(55):
        QualityEvent.objects.create(project=project, action=QualityAction.OVERLAP_RAISED, details={"overlap": i})
    html = client_for(q["members"][Role.ADMIN]).get(url(project, "labelers")).content.decode()
    assert html.count('<tr id="event-') == 50
    assert '<dt>overlap</dt><dd class="break">54</dd>' in html and '<dd class="break">4</dd>' not in html
    assert '<span class="muted">system</span>' in html


# Leaderboard -------------------------------------------------------------------------------------


def test_leaderboard_page(q, client_for, staff):
    project = q["project"]
    config = ModelConfig.objects.create(
        project=project, name="Config one", base_url="http://llm:8000/v1", model="gpt-x"
    )
    data = full_data([(q["members"][Role.LABELER].pk, "a-labeler")])
    data["leaderboard"][0].update(name="Config one", key=f"config:{config.pk}", config_id=config.pk)
    store(project, data)
    for role in (Role.LABELER, Role.REVIEWER):
        refused = client_for(q["members"][role]).get(url(project, "leaderboard"))
        assert refused.status_code == 403 and b"Config one" not in refused.content
    html = client_for(q["members"][Role.ENGINEER]).get(url(project, "leaderboard")).content.decode()
    assert "a-labeler" not in html  # no labeler is named
    assert (
        f'href="{reverse("projects:generation:models", args=[project.pk])}#config-{config.pk}">Config one</a>' in html
    )
    assert "1,060 <span" in html and "[1,020, 1,095]" in html and "55.0%" in html and "5.10" in html
    assert "Head to head" in html and 'class="qc-chart"' in html


def test_small_samples_read_not_enough_data(site, client_for, staff):
    """Statistics computed on a tiny project: 6 comparisons all won by one model, agreement on 2
    items. No score, no rank and no agreement figure is shown as if it could be read."""
    project, members = site["project"], site["members"]
    version = GuidelineVersion.objects.filter(project=project).latest("number")
    configs = {n: ModelConfig.objects.create(project=project, name=n, base_url="http://m/v1", model=n) for n in "AB"}
    pair = [members[Role.LABELER], UserFactory(username="second-labeler")]
    for i in range(4):  # 6 comparisons: two items labeled twice (agreement), two once
        p, cands = b.prompt(project, f"tiny {i}", candidates=[f"A {i}", f"B {i}"])
        for cand, name in zip(cands, "AB", strict=True):
            type(cand).objects.filter(pk=cand.pk).update(model_config=configs[name])
        item = b.comparison(project, p, cands, overlap=2)
        for user in pair[: 2 if i < 2 else 1]:
            b.label(item, user, version, ranks={cands[0]: 1, cands[1]: 2})
    data = project_stats_compute(project=project)
    store(project, data)
    html = client_for(members[Role.ENGINEER]).get(url(project, "leaderboard")).content.decode()
    row = re.search(r'<th scope="row" class="qc-model">\s*<a [^>]*>A</a>.*?</tr>', html, re.S).group(0)
    assert "not enough data" in row and "[" not in row.split("not enough data")[0]
    # The win rate keeps its Wilson interval.
    assert '<td class="num">6</td>' in row and "100.0% <span" in row and "[61%, 100%]" in row
    assert "<title>1. A: not enough data · 6 comparisons</title>" in html  # no point, no whisker
    assert "fewer than 20 comparisons" in html
    html = client_for(members[Role.ENGINEER]).get(url(project, "dashboard")).content.decode()
    assert '<dd><span class="muted">not enough data</span></dd>' in html
    assert "Pairwise agreement: <strong>not enough data</strong> yet (2 pair judgments on 2 items" in html
    assert "<title>All items: not enough data · 2 pairs</title>" in html
    assert "100.0%" not in html.split('aria-labelledby="agreement-title"')[1].split("By guideline version")[0]


# Adjudication ------------------------------------------------------------------------------------


def test_adjudication_list_and_settling_an_item(q, client_for):
    project, members = q["project"], q["members"]
    second = UserFactory(username="second-labeler")
    item, (first, other) = disputed_item(project, [members[Role.LABELER], second])
    client = client_for(members[Role.REVIEWER])
    html = client.get(url(project, "adjudication")).content.decode()
    assert f'id="item-{item.pk}"' in html and '<span class="count">1</span>' in html
    assert "Which answer is better?" in html and "A good answer." in html
    assert f'value="{first.pk}"' in html and f'value="{other.pk}"' in html
    assert "Because 0" in html and "Better" in html
    assert '<span class="mono">#1</span> Answer A' in html and '<span class="mono">#1</span> Answer B' in html

    response = client.post(url(project, "adjudicate", work_item_id=item.pk), {"keep_label": other.pk, "comment": "B"})
    assert response.status_code == 302 and response["Location"] == url(project, "adjudication")
    first.refresh_from_db()
    other.refresh_from_db()
    item.refresh_from_db()
    assert not item.needs_adjudication
    assert other.review_status == ReviewStatus.ACCEPTED and first.review_status == ReviewStatus.REJECTED
    event = QualityEvent.objects.get(action=QualityAction.ADJUDICATED)
    assert (event.actor, event.subject, event.work_item_id, event.reason) == (
        members[Role.REVIEWER],
        second,
        item.pk,
        "B",
    )
    html = client.get(response["Location"]).content.decode()
    assert f"Item #{item.pk} settled: label #{other.pk} by second-labeler kept" in html
    assert "No disputed items are waiting." in html


def test_adjudication_names_strength_levels_as_the_labels_own_schema_does(q, client_for, api, staff):
    """A label's strength reads with its own version's level label, on the page and in the API."""
    project, members = q["project"], q["members"]
    schema = PRESETS["hhh"].as_dict()
    schema["strength"]["levels"][1]["label"] = "Noticeably preferred"  # the level named "better"
    project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="Level wording")
    _item, _labels = disputed_item(project, [members[Role.LABELER], UserFactory(username="l2")], version=version)
    html = client_for(members[Role.REVIEWER]).get(url(project, "adjudication")).content.decode()
    assert html.count("<td>Noticeably preferred</td>") == 2
    listed = api(members[Role.REVIEWER]).get(f"/api/v1/projects/{project.pk}/adjudications").json()["results"]
    assert [(lb["strength"], lb["strength_label"]) for lb in listed[0]["labels"]] == [
        ("better", "Noticeably preferred")
    ] * 2


def test_refused_adjudications_re_render_with_400(q, client_for, make_project, staff, publish):
    project, members = q["project"], q["members"]
    reviewer = members[Role.REVIEWER]
    item, (mine, theirs) = disputed_item(project, [reviewer, members[Role.LABELER]])
    client = client_for(reviewer)
    target = url(project, "adjudicate", work_item_id=item.pk)
    no_comment = client.post(target, {"keep_label": theirs.pk, "comment": " "})
    assert no_comment.status_code == 400 and "This field is required." in no_comment.content.decode()
    assert f'value="{theirs.pk}" id="keep-{item.pk}-{theirs.pk}" required checked' in no_comment.content.decode()
    no_choice = client.post(target, {"comment": "Hmm"})
    assert no_choice.status_code == 400 and "Choose the label to keep." in no_choice.content.decode()
    own = client.post(target, {"keep_label": mine.pk, "comment": "Mine is right"})
    assert own.status_code == 400 and "in favour of your own label" in own.content.decode()
    unknown = client.post(target, {"keep_label": 999_999, "comment": "?"})
    assert unknown.status_code == 400 and "Keep one of the item&#x27;s labels." in unknown.content.decode()
    assert WorkItem.objects.get(pk=item.pk).needs_adjudication
    # Settled meanwhile: the message above the list.
    WorkItem.objects.filter(pk=item.pk).update(needs_adjudication=False)
    late = client.post(target, {"keep_label": theirs.pk, "comment": "Late"})
    assert late.status_code == 400
    assert f"Item #{item.pk} was not adjudicated" in late.content.decode()
    assert "This item does not need adjudication." in late.content.decode()
    # Another project's item, or none: 404.
    other = make_project("Other")
    publish(other, staff, "# Other guidelines\n")
    foreign, _ = disputed_item(other, [members[Role.LABELER], UserFactory(username="l3")], version=None)
    assert (
        client_for(staff)
        .post(url(project, "adjudicate", work_item_id=foreign.pk), {"keep_label": 1, "comment": "x"})
        .status_code
        == 404
    )
    assert (
        client.post(url(project, "adjudicate", work_item_id=999_999), {"keep_label": 1, "comment": "x"}).status_code
        == 404
    )
    assert not QualityEvent.objects.filter(action=QualityAction.ADJUDICATED).exists()


# Escaping ----------------------------------------------------------------------------------------


def test_user_supplied_strings_are_escaped_everywhere(site, client_for, staff):
    project, members = site["project"], site["members"]
    Project.objects.filter(pk=project.pk).update(name=f"Proj {XSS}")
    evil = UserFactory(username=XSS)
    from labelhub.projects import services as project_services

    project_services.membership_add(project=project, username=evil.username, role=Role.LABELER)
    data = full_data(
        [(evil.pk, XSS), (members[Role.LABELER].pk, "plain")],
        models=[model_row(1, XSS, f"model:{XSS}"), model_row(2, "ok", "model:ok")],
    )
    data["labelers"][0]["flags"].append(XSS)
    data["distributions"]["flags"] = {XSS: 3}
    data["distributions"]["safety"] = {XSS: 1}
    data["distributions"]["strength"] = {XSS: 1}
    data["agreement"]["by_track"] = {XSS: {"value": 0.5, "low": 0.4, "high": 0.6, "n": 10, "items": 3}}
    data["agreement"]["by_guideline_version"] = {XSS: {"value": 0.5}}
    data["agreement"]["alpha"] = {XSS: 0.3}
    data["agreement"]["questions"][0] |= {"label": XSS, "key": f"{XSS}@v1", "versions": [XSS]}
    data["agreement"]["questions"][3]["options"] = {XSS: interval(0.1, 0.0, 0.2)}
    data["distributions"]["questions"][0] |= {"label": XSS, "key": f"{XSS}@v1", "versions": [XSS]}
    data["distributions"]["questions"][3] |= {"label": XSS, "counts": counts([XSS], [2])}
    data["distributions"]["strength_levels"] = [{"name": XSS, "label": XSS, "margin": 0, "unsure": True}]
    data["leaderboard_scales"] = [{"key": "helpful", "label": XSS}]
    data["progress"][0]["date"] = XSS
    data["rules"] = {"min_labels": XSS}
    store(project, data)
    admin = members[Role.ADMIN]
    client = client_for(admin)
    assert client.post(url(project, "quarantine", user_id=evil.pk), {"reason": f"Reason {XSS}"}).status_code == 302
    QualityEvent.objects.create(project=project, action=QualityAction.OVERLAP_RAISED, details={XSS: XSS})
    disputed_item(project, [evil, members[Role.LABELER]], prompt_text=f"Prompt {XSS}")
    Label.objects.filter(user=evil).update(rationale=f"Rationale {XSS}", strength=XSS)
    pages = [
        client.get(url(project, "dashboard")),
        client.get(url(project, "labelers")),
        client.post(url(project, "quarantine", user_id=members[Role.LABELER].pk), {"reason": f"Again {XSS}" * 100}),
        client.get(url(project, "leaderboard")),
        client_for(members[Role.ENGINEER]).get(url(project, "leaderboard")),
        client.get(url(project, "adjudication")),
        client.post(url(project, "adjudicate", work_item_id=999_999), {}),
    ]
    assert [p.status_code for p in pages] == [200, 200, 400, 200, 200, 200, 404]
    for response in pages[:-1]:
        html = response.content.decode()
        assert "<script>alert" not in html and XSS not in html, response.request["PATH_INFO"]
        assert ESCAPED in html
    assert pages[0].content.decode().count(ESCAPED) > 10  # labeler, model, flag, track, axis, date…
    assert f"Again {ESCAPED}" in pages[2].content.decode()  # the refused reason, shown again
    assert f"Reason {ESCAPED}" in pages[1].content.decode() and f"Rationale {ESCAPED}" in pages[5].content.decode()


def test_chart_tags_escape_and_survive_junk():
    """The tags are pure functions: every label escaped, junk drawn as n/a or nothing."""
    svg = str(charts.count_chart({XSS: 2, "ok": "x"}, XSS, XSS))
    assert XSS not in svg and ESCAPED in svg and "ok" not in svg
    assert XSS not in str(charts.leaderboard_chart([{"name": XSS, "score": 1.0, "low": 0.5, "high": 2.0}]))
    assert "Nothing to show" in str(charts.count_chart(None))
    assert "No labels yet" in str(charts.progress_chart("junk"))
    assert charts.win_matrix_table({"players": ["a"], "nothing": 1}) is None
    table = charts.win_matrix_table({"players": ["a", "b"], "keys": ["x", "y"],
                                     "rates": {"x": {"y": 0.25}, "y": {"x": 0.75}}})  # fmt: skip
    assert [c["css"] for c in table["rows"][0]["cells"]] == ["qc-heat-self", "qc-heat-2"]
    wins = charts.win_matrix_table({"players": ["a", "b"], "wins": [[0, 3], [1, 0]], "games": [[0, 4], [4, 0]]})
    assert wins["rows"][1]["cells"][0]["text"] == "25%"
    assert charts.qc_pct(float("nan")) == "n/a" and charts.qc_ms(125_000) == "2 min 5 s"
    assert charts.flag_explanation(XSS, {}) == f"Flag “{XSS}” raised by the statistics worker."  # escaped on output
    # The per-question tags of the labeling-schema statistics.
    assert "No answers to  yet" in str(charts.question_chart("junk"))
    svg = str(
        charts.question_chart({"label": XSS, "type": "choice", "counts": [{"value": XSS, "n": 2}, "x", {"n": "y"}]})
    )
    assert XSS not in svg and ESCAPED in svg and "<title>" in svg
    svg = str(
        charts.question_chart({"label": "S", "type": "scale", "counts": [{"value": 0, "n": 1}, {"value": 1, "n": 3}]})
    )
    assert "<title>S 0: 1 answers (25.0%)</title>" in svg and "S, 0 to 1: 1, 3 (mean 0.75)" in svg
    assert "No ratings rated by two" in str(charts.question_alpha_chart("junk", None))  # falls back to alpha_chart
    svg = str(charts.question_alpha_chart([{"label": XSS, "key": "x@v1", "versions": [XSS], "options": "x"}, 3]))
    assert XSS not in svg and "not enough data" not in svg and f"{ESCAPED} (v{ESCAPED})" in svg
    assert "asks no question" in str(charts.question_alpha_chart([]))
    svg = str(charts.strength_chart({"a": 1, XSS: 2}, [{"name": "a", "margin": "x", "label": XSS}, "junk"]))
    assert XSS not in svg and f"<title>{ESCAPED}: 1 labels</title>" in svg and f"<title>{ESCAPED}: 2 labels" in svg
    assert charts.leaderboard_scales({"leaderboard_scales": [1, {"key": "k"}]}) == [{"key": "k", "label": "k"}]
    assert charts.leaderboard_scales({"leaderboard": [{"axes": {"helpful": 1}}, "x"]}) == [
        {"key": "helpful", "label": "Helpful"}
    ]


def test_pages_render_statistics_computed_from_real_labels(site, client_for):
    """The worker's own output (labelhub.quality.stats), not a fabricated dict, renders everywhere."""
    from labelhub.quality import services as quality_services

    project, members = site["project"], site["members"]
    version = GuidelineVersion.objects.filter(project=project).latest("number")
    labelers = [members[Role.LABELER], members[Role.REVIEWER], UserFactory(username="third")]
    for i in range(4):
        p, (one, two) = b.prompt(
            project, f"Question {i}?", candidates=[(f"Short {i}.", "m-a"), (f"Longer {i}!", "m-b")]
        )
        item = b.comparison(project, p, [one, two], overlap=3)
        for j, user in enumerate(labelers):
            ranks = {one: 1, two: 2} if (i + j) % 3 else {one: 2, two: 1}
            flags, safety = {str(two.pk): ["hallucination"]}, {str(one.pk): "safe"}
            b.label(item, user, version, ranks=ranks, strength="better", flags=flags, safety=safety)
    stats = quality_services.project_stats_refresh(project_id=project.pk)
    assert stats.label_count == 12
    client = client_for(members[Role.ADMIN])
    dashboard = client.get(url(project, "dashboard")).content.decode()
    assert dashboard.count('<svg class="qc-chart') >= 10 and "No statistics yet" not in dashboard
    assert "<title>third: 4 labels</title>" in dashboard and ">m-a<" in dashboard
    labelers_page = client.get(url(project, "labelers")).content.decode()
    assert all(f'id="labeler-{u.pk}"' in labelers_page for u in labelers)
    board = client_for(members[Role.ENGINEER]).get(url(project, "leaderboard")).content.decode()
    assert "Head to head" in board and "m-b" in board


# Pages for any labeling schema ---------------------------------------------------------------------

HOSTILE_SCHEMA = {
    "tracks": [{"name": "general", "label": f"Track {XSS}"}],
    "questions": [
        {"name": "grade", "type": "scale", "label": f"Grade {XSS}", "min": 1, "max": 3},
        {"name": "on_topic", "type": "binary", "label": f"On topic {XSS}"},
        {"name": "tone", "type": "choice", "label": f"Tone {XSS}", "options": ["formal", XSS]},
        {"name": "issues", "type": "multi", "label": f"Issues {XSS}", "options": ["typo", XSS], "required": False},
    ],
    "ranking": {"enabled": True, "ties": True, "all_bad": True},
    "strength": {"levels": [{"name": "clear", "label": f"Clear {XSS}", "margin": 1},
                            {"name": "toss_up", "label": f"Toss {XSS}", "margin": 0}]},
    "safety": {"enabled": False, "required_on": []},
}  # fmt: skip


def schema_stats(staff, *, preset, schema=None, answer, ranked=True, strength=""):
    """A project of that schema, four items labeled by three labelers, its statistics computed."""
    from labelhub.projects import services as project_services
    from labelhub.quality import services as quality_services

    project = project_services.project_create(user=staff, name="Schema pages", preset=preset)
    if schema is not None:
        project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v", content="x")
    users = [UserFactory(username=f"sp-{i}") for i in range(3)]
    for i in range(4):
        p, (one, two) = b.prompt(project, f"Q {i}", track="general", candidates=[(f"a{i}", "m-a"), (f"b{i}", "m-b")])
        item = b.comparison(project, p, [one, two], overlap=3)
        for j, user in enumerate(users):
            ranks = {one: 1, two: 2} if ranked else {}
            ratings = {str(c.pk): answer(i, j) for c in (one, two)}
            b.label(item, user, version, ranks=ranks, ratings=ratings, strength=strength)
    quality_services.project_stats_refresh(project_id=project.pk)
    return project


def test_helpsteer_dashboard_shows_its_five_scales(staff, client_for):
    project = schema_stats(staff, preset="helpsteer", ranked=False, answer=lambda i, j: {"verbosity": (i + j) % 5})
    client = client_for(staff)
    html = client.get(url(project, "dashboard")).content.decode()
    for label in ("Helpfulness", "Correctness", "Coherence", "Complexity", "Verbosity"):
        assert f'<figcaption class="muted small">{label} (0–4)</figcaption>' in html, label
    assert "<title>Verbosity 0: 4 answers (16.7%)</title>" in html  # over 0..4, its own range
    assert "No Helpfulness answers yet." in html  # asked but never answered here
    assert "Preference strength" not in html and "Safety verdicts" not in html  # this schema asks neither
    assert "All answers bad" not in html
    assert "<title>Verbosity: not enough data" in html  # four items are too few to read alpha
    rows = ProjectStats.objects.get(project=project).data["leaderboard"]
    assert [r["name"] for r in rows] == ["m-a", "m-b"] and all(r["flag_rate"] is None for r in rows)  # no flags asked
    assert all(r["axes"]["verbosity"] == pytest.approx(25 / 12) and r["axes"]["coherence"] is None for r in rows)
    board = client.get(url(project, "leaderboard")).content.decode()
    assert (
        '<th scope="col" class="num qc-scale">Verbosity</th>' in board
        and '<th scope="col" class="num qc-scale">Helpful</th>' not in board
    )


def test_custom_schema_pages_escape_its_text(staff, client_for):
    def answer(i, j):
        return {"grade": 1 + i % 3, "on_topic": bool(i % 2), "tone": XSS, "issues": [XSS] if j else []}

    project = schema_stats(staff, preset="minimal", schema=HOSTILE_SCHEMA, answer=answer, strength="toss_up")
    client = client_for(staff)
    for page in ("dashboard", "leaderboard"):
        response = client.get(url(project, page))
        html = response.content.decode()
        assert response.status_code == 200 and XSS not in html and "<script>alert" not in html, page
    html = client.get(url(project, "dashboard")).content.decode()
    assert f"<title>Grade {ESCAPED} 1: 12 answers (50.0%)</title>" in html
    assert f"<title>On topic {ESCAPED} Yes: 12 answers (50.0%)</title>" in html
    assert f"<title>{ESCAPED}: 24 answers</title>" in html  # the tone option
    assert f"<title>{ESCAPED}: 16 answers</title>" in html  # the multi option, ticked by two labelers of three
    assert f"<title>Toss {ESCAPED} (unsure): 12 labels</title>" in html
    assert f"<title>Clear {ESCAPED}: 0 labels</title>" in html
    assert f"<title>Issues {ESCAPED}: not enough data" in html
    assert f"<title>Track Track {ESCAPED}: not enough data · 12 pairs</title>" in html  # the track's label
