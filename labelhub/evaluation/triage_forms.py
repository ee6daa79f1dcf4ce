"""The triage pages' forms: a decision on one item, and the filters of a run's list."""

from django import forms

from labelhub.core.forms import Form

from .models import TriageReason, TriageStatus

DECISION_CHOICES = [
    (TriageStatus.FIX.value, "Fix"),
    (TriageStatus.WONT_FIX.value, "Won't fix"),
    (TriageStatus.DUPLICATE.value, "Duplicate"),
]


class TriageDecideForm(Form):
    status = forms.ChoiceField(choices=DECISION_CHOICES)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    duplicate_of = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, label="Duplicate of item #")


class TriageFilterForm(Form):
    """GET filters; the track and flag choices are the ones the run's items have."""

    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *TriageStatus.choices])
    reason = forms.ChoiceField(required=False, choices=[("", "Any reason"), *TriageReason.choices])
    track = forms.ChoiceField(required=False, choices=[("", "Any track")])
    flag = forms.ChoiceField(required=False, choices=[("", "Any flag")])

    def __init__(self, *args, tracks=(), flags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].choices = [("", "Any track"), *((t, t or "(no track)") for t in tracks)]
        self.fields["flag"].choices = [("", "Any flag"), *((f, f) for f in flags)]
