import json

from django import forms

from labelhub.core.forms import Form

from .models import Role
from .rubric import DEFAULT_PRESET, preset_choices
from .services import MAX_GUIDELINE_CHARS

MAX_SCHEMA_CHARS = 100_000


class ProjectForm(Form):
    """Create a project or edit its settings (validated again by the services)."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    demonstration_overlap = forms.IntegerField(
        min_value=1, max_value=50, initial=1, help_text="Labels wanted per demonstration item (1–50)."
    )
    comparison_overlap = forms.IntegerField(
        min_value=1, max_value=50, initial=3, help_text="Labels wanted per comparison item (1–50)."
    )
    candidates_per_prompt = forms.IntegerField(
        label="Answers per comparison (K)",
        min_value=2,
        max_value=9,
        initial=2,
        help_text="K: the answers a labeler compares side by side in one comparison, 2–9. “Generate” tops "
        "every prompt up to K candidate answers.",
    )

    @classmethod
    def for_project(cls, project, data=None) -> "ProjectForm":
        initial = {name: getattr(project, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class ProjectCreateForm(ProjectForm):
    """A new project starts from a labeling-schema preset (edited later with the guidelines)."""

    preset = forms.ChoiceField(
        label="Labeling schema",
        choices=preset_choices,
        initial=DEFAULT_PRESET,
        required=False,
        help_text="The questions labelers answer, and its tracks and flags; edit it with the guidelines.",
    )

    def clean_preset(self) -> str:
        return self.cleaned_data["preset"] or DEFAULT_PRESET


class ProjectSettingsForm(ProjectForm):
    """Everything ProjectForm has, plus how labeling works in the project."""

    demonstrations_enabled = forms.BooleanField(required=False, help_text="Labelers write ideal answers.")
    comparisons_enabled = forms.BooleanField(required=False, help_text="Labelers rank candidate answers.")
    lease_minutes = forms.IntegerField(
        min_value=1, max_value=1440, help_text="How long a claimed task stays reserved for its labeler (minutes)."
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


class MemberAddForm(Form):
    username = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Their exact username or e-mail address. You can add people you already share a project "
        "with; site staff can add anyone. Someone new? Create their account below.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.LABELER)


class MemberCreateForm(Form):
    """A new account, made a member at once; its owner chooses a password with a one-time link."""

    username = forms.CharField(
        label="New username",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Letters, digits and @ . + - _ only.",
    )
    email = forms.EmailField(
        label="E-mail (optional)",
        required=False,
        help_text="Lets you add them to other projects by address; the link is e-mailed to it when the "
        "site has a mail server.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.LABELER)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_new_%s")
        super().__init__(*args, **kwargs)


class MemberRoleForm(Form):
    role = forms.ChoiceField(choices=Role.choices)


def schema_text(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


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
    schema = forms.CharField(
        label="Labeling schema (JSON)",
        required=False,
        strip=False,
        max_length=MAX_SCHEMA_CHARS,
        help_text="The questions labelers answer; saved and published with the text.",
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "editor code"}),
    )
    preset = forms.ChoiceField(label="Preset", choices=preset_choices, required=False, initial=DEFAULT_PRESET)

    def clean_schema(self) -> dict | None:
        """The schema as a dict (checked whole by the services), None when left empty (keep the draft's)."""
        text = self.cleaned_data["schema"]
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from exc
        if not isinstance(data, dict):
            raise forms.ValidationError("The schema is a JSON object.")
        return data


DIFF_MODES = (("unified", "Unified"), ("side", "Side by side"), ("rendered", "Rendered"))


class GuidelineDiffForm(Form):
    """Pick two versions (0 = nothing) and a layout. Bound to request.GET."""

    mode = forms.ChoiceField(choices=DIFF_MODES, required=False, widget=forms.RadioSelect, initial="unified")

    def __init__(self, *args, numbers: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(n), f"v{n}") for n in numbers]
        self.fields["from"] = forms.TypedChoiceField(label="From", choices=[("0", "(nothing)"), *choices], coerce=int)
        self.fields["to"] = forms.TypedChoiceField(label="To", choices=choices, coerce=int)
        self.order_fields(["from", "to", "mode"])
