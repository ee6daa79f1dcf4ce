"""The form that starts an evaluation run (the page `run-create`, from a set's page)."""

from django import forms

from labelhub.core.forms import Form

from .models import BaselineKind


class RunCreateForm(Form):
    model_config = forms.TypedChoiceField(label="Model under test", coerce=int)
    baseline_kind = forms.ChoiceField(label="Compare with", choices=BaselineKind.choices, widget=forms.RadioSelect)
    baseline_config = forms.TypedChoiceField(
        label="Baseline model config", coerce=int, required=False, empty_value=None
    )
    baseline_run = forms.TypedChoiceField(label="Baseline run", coerce=int, required=False, empty_value=None)
    labels_per_pair = forms.IntegerField(
        label="Labels per pair", min_value=1, max_value=9, initial=1, help_text="How many labelers compare each pair."
    )
    min_win_rate = forms.FloatField(
        label="Minimum win rate",
        min_value=0,
        max_value=1,
        required=False,
        help_text="From 0 to 1: the report raises an alarm below it (ties count as half a win).",
    )

    def __init__(self, *args, configs=(), runs=(), **kwargs):
        super().__init__(*args, **kwargs)
        options = [(c.pk, c.name) for c in configs]
        self.fields["model_config"].choices = options
        self.fields["baseline_config"].choices = [("", "—"), *options]
        self.fields["baseline_run"].choices = [
            ("", "—"),
            *((r.pk, f"Run {r.number} ({r.model_config.name})") for r in runs),
        ]

    def clean(self):
        data = super().clean()
        kind = data.get("baseline_kind")
        if kind == BaselineKind.CONFIG and not data.get("baseline_config"):
            self.add_error("baseline_config", "Choose the baseline model config.")
        if kind == BaselineKind.RUN and not data.get("baseline_run"):
            self.add_error("baseline_run", "Choose the baseline run.")
        return data

    def thresholds(self) -> dict:
        value = self.cleaned_data.get("min_win_rate")
        return {} if value is None else {"min_win_rate": value}
