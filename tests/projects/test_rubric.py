"""The labeling vocabulary (labelhub.projects.rubric): pure rules, tested directly (no database)."""

import pytest

from labelhub.projects import rubric
from labelhub.projects.rubric import HHH, PRESETS, Schema, SchemaInvalid


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_parses_and_round_trips(name):
    schema = PRESETS[name]
    assert Schema.parse(schema.as_dict()) == schema
    assert rubric.preset_guidelines(name).startswith("# Guidelines")


def test_hhh_is_todays_rubric():
    assert [q.name for q in HHH.questions] == ["helpful", "truthful", "harmless", "flags"]
    assert [(q.min, q.max, q.key) for q in HHH.scales()] == [(1, 7, "h"), (1, 7, "t"), (1, 7, "a")]
    assert HHH.track_names == ["helpful", "harmless", "red-team"]
    assert HHH.needs_safety("harmless") and HHH.needs_safety("red-team") and not HHH.needs_safety("helpful")
    assert HHH.strength_names() == ["much_better", "better", "slightly_better", "negligibly_better"]
    assert [HHH.strength_margin(n) for n in HHH.strength_names()] == [3, 2, 1, 0]
