"""Selectors other apps use instead of the retired Project.tracks / Project.flags: the current schema's
track labels and flag options (the published version's, else the draft's)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labelhub.core.exceptions import ApplicationError
from labelhub.projects import selectors, services
from labelhub.projects.models import Project
from labelhub.projects.rubric import PRESETS
from labelhub.projects.rubric_presets import hhh_schema

pytestmark = pytest.mark.django_db


def test_track_labels_and_flags_follow_the_current_schema(make_project, staff, publish):
    project = make_project("P", tracks=["helpful", "red-team"])
    assert selectors.project_track_labels(project=project) == {"helpful": "Helpful", "red-team": "Red team"}
    assert selectors.project_flag_options(project=project)[0] == "hallucination"
    # Before anything is published the draft is the current schema; after, the published version is.
    services.guideline_draft_save(project=project, user=staff, schema=hhh_schema(flags=["rude"], tracks=["helpful"]))
    assert selectors.project_track_labels(project=project) == {"helpful": "Helpful"}
    assert selectors.project_flag_options(project=project) == ["rude"]
    publish(project, staff, "# v1")
    services.guideline_draft_save(project=project, user=staff, schema=PRESETS["helpsteer"].as_dict())
    assert selectors.project_flag_options(project=project) == ["rude"]  # the draft is not current yet
    publish(project, staff, "# v2")
    assert selectors.project_track_labels(project=project) == {"general": "General"}
    assert selectors.project_flag_options(project=project) == []  # HelpSteer asks no flags


def test_the_list_annotation_gives_the_same_answer_without_a_query_per_project(make_project, staff, publish):
    hs = make_project("HS", preset="helpsteer")
    plain = make_project("Plain")
    publish(plain, staff, "# v1")
    projects = list(selectors.project_list_for_user(user=staff, with_schema=True))
    with CaptureQueriesContext(connection) as queries:
        labels = {p.name: selectors.project_track_labels(project=p) for p in projects}
    assert len(queries) == 0
    assert labels == {
        hs.name: selectors.project_track_labels(project=hs),
        plain.name: selectors.project_track_labels(project=plain),
    }
    assert list(labels["HS"]) == ["general"] and list(labels["Plain"]) == ["helpful", "harmless", "red-team"]


def test_unknown_preset_or_tracks_are_refused(staff):
    for kwargs in ({"preset": "nope"}, {"tracks": ["helpful", "helpful"]}, {"tracks": []}, {"tracks": ["x"]}):
        with pytest.raises(ApplicationError) as exc:
            services.project_create(user=staff, name="X", **kwargs)
        assert set(exc.value.extra["fields"]) & {"preset", "tracks"}
    assert not Project.objects.exists()
