"""Forms of the quality pages. They only shape input; the services validate and decide."""

from django import forms

from labelhub.core.forms import Form


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


class FlagsField(forms.MultipleChoiceField):
    """Checkboxes of the project's flags. Any value passes here: the service checks them against
    the project's flags (and says which are allowed)."""

    def valid_value(self, value) -> bool:
        return isinstance(value, str)


class GoldForm(Form):
    """The expected answer of a gold comparison item, one rank select and one set of flag checkboxes
    per compared candidate (in the item's order), "all bad" and a note.

    Ranks: blank (not part of the expectation) or 1..K, ties allowed; two ranked candidates at least,
    or none. `gold_data()` builds the service's input from the non-empty fields; the service checks
    the rest (a rank against "all bad", an empty answer, flags the project does not offer)."""

    all_bad = forms.BooleanField(
        required=False,
        label="All answers are bad",
        help_text="Expect labelers to mark every answer bad (then rank nothing).",
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        help_text="Why this is the answer; for admins (labelers never see it). Logged.",
    )

    def __init__(self, *args, candidate_ids, flags, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidate_ids = [str(c) for c in candidate_ids]
        ranks = [(NOT_RANKED, "—")] + [(str(r), str(r)) for r in range(1, len(self.candidate_ids) + 1)]
        flag_choices = [(str(f), str(f)) for f in flags or []]
        for cid in self.candidate_ids:
            self.fields[f"rank_{cid}"] = forms.ChoiceField(choices=ranks, required=False, label="Rank")
            self.fields[f"flags_{cid}"] = FlagsField(
                choices=flag_choices, required=False, label="Flags that must be ticked",
                widget=forms.CheckboxSelectMultiple,
            )  # fmt: skip

    def rank_field(self, cid: str) -> forms.BoundField:
        return self[f"rank_{cid}"]

    def flags_field(self, cid: str) -> forms.BoundField:
        return self[f"flags_{cid}"]

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
        flags = {cid: list(cleaned[f"flags_{cid}"]) for cid in self.candidate_ids if cleaned.get(f"flags_{cid}")}
        if flags:
            data["flags"] = flags
        if cleaned.get("all_bad"):
            data["all_bad"] = True
        if cleaned.get("note"):
            data["note"] = cleaned["note"]
        return data


class GoldUnsetForm(ReasonForm):
    """Remove the gold mark from an item: the reason is required and logged with the admin's name.
    (The page that sent it, `back`, is read by the view: a forged value only changes where to return.)"""
