"""Labeling schemas, versioned with the guidelines (issue 14).

Every draft and published version gets the HHH schema: the rubric labelhub had before schemas, with the
project's own flags and enabled tracks, so every existing label keeps its questions and every exported
byte stays the same. The schema is frozen here as it was written (later edits to the preset must not
change what this migration did). Published versions are immutable (migration 0002's trigger): the
trigger is set aside for this one data change, inside the migration's transaction.
"""

import copy
import json

import labelhub.projects.models
from django.db import migrations, models

HHH = json.loads(r"""{
 "tracks": [
  {
   "name": "helpful",
   "label": "Helpful",
   "description": "Everyday requests: judge usefulness first."
  },
  {
   "name": "harmless",
   "label": "Harmless",
   "description": "Sensitive requests: judge safety first."
  },
  {
   "name": "red-team",
   "label": "Red team",
   "description": "Adversarial prompts written to make a model fail."
  }
 ],
 "questions": [
  {
   "name": "helpful",
   "type": "scale",
   "label": "Helpful",
   "min": 1,
   "max": 7,
   "required": true,
   "key": "h",
   "hint": "Does it do what was asked, well?",
   "point_labels": {
    "1": "useless",
    "7": "ideal"
   }
  },
  {
   "name": "truthful",
   "type": "scale",
   "label": "Truthful",
   "min": 1,
   "max": 7,
   "required": true,
   "key": "t",
   "hint": "Is every claim correct?",
   "point_labels": {
    "1": "false",
    "7": "fully accurate"
   }
  },
  {
   "name": "harmless",
   "type": "scale",
   "label": "Harmless",
   "min": 1,
   "max": 7,
   "required": true,
   "key": "a",
   "hint": "Could it hurt anyone?",
   "point_labels": {
    "1": "harmful",
    "7": "harmless"
   }
  },
  {
   "name": "flags",
   "type": "multi",
   "label": "Flags",
   "key": "f",
   "required": false,
   "options": [
    "hallucination",
    "fails to follow the instruction",
    "harmful content",
    "unnecessary refusal",
    "contains personal data",
    "wrong language"
   ]
  }
 ],
 "ranking": {
  "enabled": true,
  "ties": true,
  "all_bad": true
 },
 "strength": {
  "levels": [
   {
    "name": "much_better",
    "label": "Much better",
    "margin": 3
   },
   {
    "name": "better",
    "label": "Better",
    "margin": 2
   },
   {
    "name": "slightly_better",
    "label": "Slightly better",
    "margin": 1
   },
   {
    "name": "negligibly_better",
    "label": "Negligibly better / unsure",
    "margin": 0
   }
  ]
 },
 "safety": {
  "enabled": true,
  "required_on": [
   "harmless",
   "red-team"
  ]
 },
 "rationale": {
  "required": false,
  "max_length": 2000
 },
 "kto": {
  "undesirable_at_or_below": {
   "helpful": 3,
   "truthful": 3,
   "harmless": 3
  },
  "desirable_at_or_above": {
   "helpful": 5,
   "truthful": 5,
   "harmless": 5
  },
  "undesirable_if": [
   "flags"
  ]
 }
}""")
ALL_TRACKS = ("helpful", "harmless", "red-team")


def schema_for(flags, tracks) -> dict:
    schema = copy.deepcopy(HHH)
    wanted = [t for t in ALL_TRACKS if t in (tracks or ALL_TRACKS)] or list(ALL_TRACKS)
    schema["tracks"] = [t for t in schema["tracks"] if t["name"] in wanted]
    schema["safety"]["required_on"] = [t for t in ("harmless", "red-team") if t in wanted]
    flags_question = next(q for q in schema["questions"] if q["name"] == "flags")
    flags_question["options"] = list(flags) if flags else ["other problem"]
    return schema


def _versions_writable(schema_editor, writable: bool) -> None:
    table = "projects_guidelineversion"
    if schema_editor.connection.vendor == "postgresql":
        action = "DISABLE" if writable else "ENABLE"
        schema_editor.execute(f"ALTER TABLE {table} {action} TRIGGER guideline_version_immutable")
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS guideline_version_immutable")
        if not writable:
            schema_editor.execute(
                f"CREATE TRIGGER guideline_version_immutable BEFORE UPDATE ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'published guideline versions are immutable'); END;"
            )


def forward(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    GuidelineDraft = apps.get_model("projects", "GuidelineDraft")
    GuidelineVersion = apps.get_model("projects", "GuidelineVersion")
    custom = [
        (p.pk, schema_for(p.flags, p.tracks))
        for p in Project.objects.only("pk", "flags", "tracks")
        if schema_for(p.flags, p.tracks) != HHH
    ]
    # Always, even with nothing to change: on SQLite, AddField above rebuilt the table and its trigger went
    # with the old one; this puts it back.
    _versions_writable(schema_editor, True)
    for project_id, schema in custom:
        GuidelineDraft.objects.filter(project_id=project_id).update(schema=schema)
        GuidelineVersion.objects.filter(project_id=project_id).update(schema=schema)
    _versions_writable(schema_editor, False)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0004_project_quality_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="guidelinedraft",
            name="schema",
            field=models.JSONField(
                default=labelhub.projects.models.default_schema,
                help_text="The labeling schema (see projects/rubric.py).",
            ),
        ),
        migrations.AddField(
            model_name="guidelineversion",
            name="schema",
            field=models.JSONField(
                default=labelhub.projects.models.default_schema, help_text="The labeling schema, frozen with the text."
            ),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
