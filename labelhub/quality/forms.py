"""Forms of the quality pages. They only shape input; the services validate and decide."""

from django import forms

from labelhub.core.forms import Form
from labelhub.projects.rubric import FLAGS


class ReasonForm(Form):
    """Quarantine or release a labeler: the reason is required and logged with the admin's name."""

    reason = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        help_text="Logged with your name in the quality event log.",
    )


class AdjudicateForm(Form):
    """Settle a disputed item: keep one of its labels (the others are rejected) and say why."""

    keep_label = forms.IntegerField(min_value=1, error_messages={"required": "Choose the label to keep."})
    comment = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        help_text="Logged, and written to the review comment of every label of the item.",
    )


NOT_RANKED = ""
BLANK = ""


class FlagsField(forms.MultipleChoiceField):
    """Checkboxes of a multi-select question's options. Any value passes here: the service checks them
    against the schema (and says which are allowed)."""

    def valid_value(self, value) -> bool:
        return isinstance(value, str)


def answer_field(question) -> forms.Field:
    """The gold input of one question (blank: not part of the expected answer): a select for a scale
    (its points, with their labels), a yes/no question or a choice, checkboxes for a multi-select one
    (the options a labeler must tick)."""
    if question.type == "multi":
        return FlagsField(
            choices=[(o, o) for o in question.options], required=False, label=question.label,
            widget=forms.CheckboxSelectMultiple,
        )  # fmt: skip
    if question.type == "scale":
        points = [
            (str(v), f"{v} · {question.point_labels[v]}" if question.point_labels.get(v) else str(v))
            for v in range(question.min, question.max + 1)
        ]
    elif question.type == "binary":
        points = [("true", "Yes"), ("false", "No")]
    else:
        points = [(o, o) for o in question.options]
    return forms.ChoiceField(choices=[(BLANK, "—"), *points], required=False, label=question.label)


def answer_value(question, raw):
    """A cleaned form value as the schema's JSON answer (None: blank)."""
    if raw in (None, "", []):
        return None
    if question.type == "scale":
        return int(raw)
    if question.type == "binary":
        return raw == "true"
    return list(raw) if question.type == "multi" else raw


def initial_value(question, value):
    """A stored expected answer as the form's initial value."""
    if question.type == "binary":
        return "true" if value else "false"
    return list(value) if question.type == "multi" else str(value)


class GoldForm(Form):
    """The expected answer of a gold comparison item, built from the labeling schema (the project's
    current one, the questions the prompt's track shows): per compared candidate (in the item's order)
    a rank select (when the schema ranks) and one input per question but text ones (the multi-select
    question named "flags" keeps its field name `flags_<candidate>`, others are `answer_<candidate>_<name>`),
    then "all bad" (when the schema has it), the scale tolerance (when it has scales) and a note.

    Ranks: blank (not part of the expectation) or 1..K, ties allowed; two ranked candidates at least,
    or none. `gold_data()` builds the service's input from the non-empty fields; the service checks
    the rest (a rank against "all bad", an empty answer, values the schema does not offer)."""

    all_bad = forms.BooleanField(
        required=False,
        label="All answers are bad",
        help_text="Expect labelers to mark every answer bad (then rank nothing).",
    )
    tolerance = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=10,
        label="Scale tolerance",
        help_text="A scale answer counts as right within this many points of the expected one (0: exactly).",
        widget=forms.NumberInput(attrs={"min": 0, "max": 10}),
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        help_text="Why this is the answer; for admins (labelers never see it). Logged.",
    )

    def __init__(self, *args, candidate_ids, schema, track, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidate_ids = [str(c) for c in candidate_ids]
        self.schema = schema
        self.questions = [q for q in schema.questions_for(track) if q.type != "text"]
        ranks = [(NOT_RANKED, "—")] + [(str(r), str(r)) for r in range(1, len(self.candidate_ids) + 1)]
        for cid in self.candidate_ids:
            if schema.ranking:
                self.fields[f"rank_{cid}"] = forms.ChoiceField(choices=ranks, required=False, label="Rank")
            for q in self.questions:
                self.fields[self.field_name(cid, q)] = answer_field(q)
        if not schema.all_bad:
            del self.fields["all_bad"]
        if not any(q.type == "scale" for q in self.questions):
            del self.fields["tolerance"]

    @staticmethod
    def field_name(cid: str, question) -> str:
        return (
            f"flags_{cid}" if question.name == FLAGS and question.type == "multi" else f"answer_{cid}_{question.name}"
        )

    def rank_field(self, cid: str) -> forms.BoundField | None:
        return self[f"rank_{cid}"] if f"rank_{cid}" in self.fields else None

    def answer_fields(self, cid: str) -> list[dict]:
        """The inputs of one candidate: {question, field, multi}."""
        return [
            {"question": q, "field": self[self.field_name(cid, q)], "multi": q.type == "multi"} for q in self.questions
        ]

    def clean(self):
        cleaned = super().clean()
        ranked = [cid for cid in self.candidate_ids if cleaned.get(f"rank_{cid}")]
        if len(ranked) == 1:
            self.add_error(f"rank_{ranked[0]}", "Rank two answers or more (or none): one rank alone says nothing.")
        return cleaned

    def gold_data(self) -> dict:
        """The service's `data`, from the non-empty inputs only."""
        cleaned = self.cleaned_data
        data: dict = {}
        ranking = {cid: int(cleaned[f"rank_{cid}"]) for cid in self.candidate_ids if cleaned.get(f"rank_{cid}")}
        if len(ranking) >= 2:
            data["ranking"] = ranking
        for cid in self.candidate_ids:
            for q in self.questions:
                value = answer_value(q, cleaned.get(self.field_name(cid, q)))
                if value is not None:
                    key = "flags" if self.field_name(cid, q).startswith("flags_") else "answers"
                    target = data.setdefault(key, {})
                    if key == "flags":
                        target[cid] = value
                    else:
                        target.setdefault(cid, {})[q.name] = value
        if cleaned.get("all_bad"):
            data["all_bad"] = True
        if cleaned.get("tolerance"):
            data["tolerance"] = cleaned["tolerance"]
        if cleaned.get("note"):
            data["note"] = cleaned["note"]
        return data

    def initial_from(self, gold) -> dict:
        """Initial values from a stored expected answer (GoldStandard), for the "replace" form."""
        initial = {}
        by_name = {q.name: q for q in self.questions}
        for cid, values in (gold.answers or {}).items():
            for name, value in (values or {}).items():
                if name in by_name:
                    initial[self.field_name(str(cid), by_name[name])] = initial_value(by_name[name], value)
        initial |= {f"flags_{cid}": list(wanted) for cid, wanted in (gold.flags or {}).items()}
        return initial | {"tolerance": gold.tolerance or None}


class GoldUnsetForm(ReasonForm):
    """Remove the gold mark from an item: the reason is required and logged with the admin's name.
    (The page that sent it, `back`, is read by the view: a forged value only changes where to return.)"""
