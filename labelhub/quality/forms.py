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
