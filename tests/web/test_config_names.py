"""Two model configs whose names share a 40-character prefix never show the same (truncated) name:
pages show full names, the charts shorten them apart."""

import re

import pytest
from django.urls import reverse

from labelhub.generation import services as generation_services
from labelhub.projects.models import Role
from labelhub.quality.templatetags.quality_charts import _distinct_short, leaderboard_chart

from .test_generation_pages import make_config, sent  # noqa: F401

pytestmark = pytest.mark.django_db

PREFIX = "Meta-Llama-3.1-70B-Instruct-Turbo-bf16-q"  # 40 characters
assert len(PREFIX) == 40
A, B = PREFIX + "-run-v1", PREFIX + "-run-v2"


def _labels(svg: str) -> list[str]:
    return re.findall(r'<text class="qc-label"[^>]*>([^<]*)</text>', svg)


def test_charts_shorten_names_apart():
    rows = [
        {"name": A, "score": 0.3, "low": 0.1, "high": 0.5, "comparisons": 3, "enough_data": False},
        {"name": B, "score": 0.1, "low": 0.0, "high": 0.2, "comparisons": 3, "enough_data": False},
    ]
    labels = _labels(str(leaderboard_chart(rows)))
    assert len(labels) == 2 and labels[0] != labels[1]
    assert all(len(label) <= 22 for label in labels)
    assert labels[0].endswith("v1") and labels[1].endswith("v2")
    # Names equal at both ends still differ; short and distinct ones are left alone.
    same_ends = [PREFIX + "x" * 10 + "-end", PREFIX + "y" * 10 + "-end"]
    assert len(set(_distinct_short(same_ends))) == 2
    assert _distinct_short(["gpt-4o", "llama"]) == ["gpt-4o", "llama"]
    assert _distinct_short([A, A]) == [_distinct_short([A])[0]] * 2  # one name, one label


def test_pages_show_both_full_names(site, staff, client_for, sent):  # noqa: F811
    project = site["project"]
    for k, name in ((3, A), (4, B)):
        config = make_config(project, name=name)
        generation_services.generation_batch_create(project=project, user=staff, config=config, fewer_than=k)
    client = client_for(site["members"][Role.ADMIN])
    pages = [
        reverse("projects:generation:models", args=[project.pk]),
        reverse("projects:generation:batches", args=[project.pk]),
        reverse("projects:generation:batch-start", args=[project.pk]),
        reverse("projects:prompts:list", args=[project.pk]),  # the generate panel's select
        reverse("projects:prompts:detail", args=[project.pk, site["prompt"].pk]),  # the generate buttons
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert A in html and B in html, url
