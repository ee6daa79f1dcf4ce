"""The snapshot form of the exports page. It only shapes input into the `raw` options the service
takes (option → list of strings); the service validates them exactly as the streaming endpoints do."""

from django import forms

from labelhub.core.forms import Form

from .params import CONSENSUS, FORMATS, KINDS, PAIRS, REVIEW, SPLITS, allowed_keys

KIND_LABELS = {
    "sft": "sft: demonstrations (supervised fine-tuning)",
    "preferences": "preferences: chosen/rejected pairs (reward models, DPO)",
    "kto": "kto: unpaired desirable/undesirable completions",
    "rankings": "rankings: every compared item with each labeler's judgment",
}
ALL_CONSENSUS = tuple(dict.fromkeys(c for values in CONSENSUS.values() for c in values))


def _with_default(choices, default: str) -> list[tuple[str, str]]:
    """The default as the blank choice (nothing is sent for it), then the other values."""
    return [("", f"{default} (default)"), *((c, c) for c in choices if c != default)]


def _labelers_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=2000,
        help_text="Usernames or user ids, comma-separated.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class SnapshotForm(Form):
    kind = forms.ChoiceField(choices=[(k, KIND_LABELS.get(k, k)) for k in KINDS])
    format = forms.ChoiceField(
        required=False,
        # Every format, grouped by its kind; a format of another kind is refused by the service.
        choices=[("", "Default for the kind"), *((kind, [(f, f) for f in FORMATS[kind]]) for kind in KINDS)],
        help_text="Must belong to the kind chosen above.",
    )
    guideline_version = forms.CharField(
        label="Guideline version",
        required=False,
        max_length=100,
        help_text="One (3), several (2,3) or a lower bound (>=2).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "e.g. >=2"}),
    )
    since = forms.DateField(
        required=False,
        help_text="Labels created on or after this day (UTC).",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        required=False,
        help_text="Labels created before this day (UTC).",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    track = forms.MultipleChoiceField(
        label="Tracks",
        required=False,
        choices=[],  # the tracks of the project's labeling schemas: see __init__
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every track.",
    )
    labeler = _labelers_field("Only labelers")
    exclude_labeler = _labelers_field("Leave out labelers")
    review = forms.ChoiceField(
        label="Review status",
        required=False,
        choices=_with_default(REVIEW, "not-rejected"),
        help_text="Labels rejected in review never leave by default.",
    )
    exclude_quarantined = forms.ChoiceField(
        label="Quarantined labelers",
        required=False,
        choices=[("", "Leave their labels out (default)"), ("false", "Include their labels")],
        help_text="Labelers an admin set aside for quality reasons.",
    )
    include_held_out = forms.BooleanField(
        label="Include held-out prompts",
        required=False,
        help_text="Labels of prompts an evaluation set holds are left out by default (fix-it work is always in).",
    )
    split = forms.ChoiceField(
        required=False,
        choices=_with_default(SPLITS, "all"),
        help_text="Deterministic by a hash of the prompt: a prompt is never in both.",
    )
    test_ratio = forms.CharField(
        label="Test ratio",
        required=False,
        max_length=20,
        help_text="Share of prompts in the test split (default 0.1); only with train or test.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "1", "placeholder": "0.1"}),
    )
    consensus = forms.ChoiceField(
        required=False,
        choices=_with_default(ALL_CONSENSUS, "none"),
        help_text="majority: only what most labelers agree on (not for sft).",
    )
    metadata = forms.BooleanField(
        label="Add metadata",
        required=False,
        help_text="Ids, models, sampling, labeler, guideline version and times on each row.",
    )
    pairs = forms.ChoiceField(
        required=False,
        choices=_with_default(PAIRS, "all"),
        help_text="preferences and rankings only.",
    )
    include_edits = forms.BooleanField(
        label="Include edits",
        required=False,
        help_text="preferences and kto only: the edited ideal beats the original candidate.",
    )

    OPTION_FIELDS = (
        "format",
        "guideline_version",
        "since",
        "until",
        "track",
        "labeler",
        "exclude_labeler",
        "review",
        "exclude_quarantined",
        "include_held_out",
        "split",
        "test_ratio",
        "consensus",
        "metadata",
        "pairs",
        "include_edits",
    )

    def __init__(self, *args, tracks: list[tuple[str, str]] = (), **kwargs):
        """`tracks`: (name, label) of the project's tracks (selectors.export_tracks)."""
        super().__init__(*args, **kwargs)
        choices = [(name, label if label == name else f"{label} ({name})") for name, label in tracks]
        self.fields["track"].choices = choices

    def service_input(self) -> tuple[str, dict[str, list[str]], list[str]]:
        """(kind, raw, dropped): the non-empty options that apply to the kind, as lists of strings,
        and the names of those given that do not apply (left out rather than sent)."""
        kind = self.cleaned_data["kind"]
        allowed = set(allowed_keys(kind))
        raw: dict[str, list[str]] = {}
        dropped: list[str] = []
        for name in self.OPTION_FIELDS:
            value = self.cleaned_data.get(name)
            if value in (None, "", [], False):
                continue
            if name not in allowed:
                dropped.append(name)
                continue
            if value is True:
                raw[name] = ["true"]
            elif isinstance(value, list):
                raw[name] = [str(v) for v in value]
            elif hasattr(value, "isoformat"):
                raw[name] = [value.isoformat()]
            else:
                raw[name] = [str(value).strip()]
        return kind, raw, dropped
