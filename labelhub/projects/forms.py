from django import forms

from labelhub.core.forms import Form

from .models import Role, Track
from .services import MAX_GUIDELINE_CHARS


class ProjectForm(Form):
    """Create a project or edit its settings (validated again by the services)."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    tracks = forms.MultipleChoiceField(
        choices=Track.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=Track.values,
        help_text="Tracks enabled in this project.",
    )
    demonstration_overlap = forms.IntegerField(
        min_value=1, max_value=50, initial=1, help_text="Labels wanted per demonstration item (1–50)."
    )
    comparison_overlap = forms.IntegerField(
        min_value=1, max_value=50, initial=3, help_text="Labels wanted per comparison item (1–50)."
    )
    candidates_per_prompt = forms.IntegerField(
        min_value=2, max_value=9, initial=2, help_text="Candidate answers to generate per prompt (2–9)."
    )

    @classmethod
    def for_project(cls, project, data=None) -> "ProjectForm":
        initial = {name: getattr(project, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class ProjectSettingsForm(ProjectForm):
    """Everything ProjectForm has, plus how labeling works in the project."""

    demonstrations_enabled = forms.BooleanField(required=False, help_text="Labelers write ideal answers.")
    comparisons_enabled = forms.BooleanField(required=False, help_text="Labelers rank candidate answers.")
    lease_minutes = forms.IntegerField(
        min_value=1, max_value=1440, help_text="How long a claimed task stays reserved for its labeler (minutes)."
    )
    flags = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Flags a labeler can tick per candidate, one per line.",
    )
    gold_rate = forms.FloatField(
        min_value=0, max_value=0.5, help_text="Share of claims that serve a gold item (0 to 0.5)."
    )
    max_overlap = forms.IntegerField(
        min_value=1, max_value=50, help_text="Most labels a disputed comparison item may get (adaptive overlap)."
    )
    min_item_agreement = forms.FloatField(
        min_value=0, max_value=1, help_text="Below this share of agreed pairs, an item gets one more label."
    )

    @classmethod
    def for_project(cls, project, data=None) -> "ProjectSettingsForm":
        form = super().for_project(project, data)
        form.initial["flags"] = "\n".join(project.flags or [])
        return form

    def clean_flags(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["flags"].splitlines() if line.strip()]


class MemberAddForm(Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Their exact username. You can add people you already share a project with; "
        "site staff can add anyone.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.LABELER)


class MemberRoleForm(Form):
    role = forms.ChoiceField(choices=Role.choices)


class GuidelineEditForm(Form):
    content = forms.CharField(
        label="Guidelines (Markdown)",
        required=False,
        strip=False,
        max_length=MAX_GUIDELINE_CHARS,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "true", "class": "editor"}),
    )
    change_note = forms.CharField(
        label="Change note",
        required=False,
        max_length=500,
        help_text="Required to publish: say what changed, for the people who acknowledged the last version.",
        # `required` in HTML for the Publish button; Save and Preview use formnovalidate.
        widget=forms.TextInput(attrs={"required": True, "autocomplete": "off"}),
    )


DIFF_MODES = (("unified", "Unified"), ("side", "Side by side"))


class GuidelineDiffForm(Form):
    """Pick two versions (0 = nothing) and a layout. Bound to request.GET."""

    mode = forms.ChoiceField(choices=DIFF_MODES, required=False, widget=forms.RadioSelect, initial="unified")

    def __init__(self, *args, numbers: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(n), f"v{n}") for n in numbers]
        self.fields["from"] = forms.TypedChoiceField(label="From", choices=[("0", "(nothing)"), *choices], coerce=int)
        self.fields["to"] = forms.TypedChoiceField(label="To", choices=choices, coerce=int)
        self.order_fields(["from", "to", "mode"])
