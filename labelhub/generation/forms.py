"""Forms of the generation pages. They shape input for the services, which validate it again."""

from django import forms

from labelhub.core.forms import Form

from .selectors import BatchTarget

MAX_STOP = 4
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1


def parse_stop(text: str) -> list[str]:
    """Stop sequences from a textarea: one per line, or comma-separated on a single line.
    `\\n` and `\\t` stand for a newline and a tab (so "\\n\\n" stops at a blank line)."""
    text = (text or "").replace("\r\n", "\n").strip("\n")
    if not text.strip():
        return []
    parts = text.split("\n") if "\n" in text else text.split(",")
    return [p.strip().replace("\\n", "\n").replace("\\t", "\t") for p in parts if p.strip()]


def format_stop(stop: list[str]) -> str:
    """The inverse of parse_stop, for the edit form."""
    items = [s.replace("\n", "\\n").replace("\t", "\\t") for s in stop or []]
    return ("\n" if any("," in s for s in items) else ", ").join(items)


class ModelConfigForm(Form):
    """Add or edit a model config. The API key is write-only: the input is never pre-filled."""

    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    base_url = forms.CharField(
        label="Base URL",
        max_length=500,
        help_text="OpenAI-compatible, e.g. http://gpu-1.internal:8000/v1",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}),
    )
    model = forms.CharField(
        label="Model id",
        max_length=200,
        help_text="The model name sent to the server.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        strip=True,
        help_text="Optional. Write-only: it is stored, never shown again.",
        # render_value=False: a key typed into a form that comes back with errors is not echoed.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    temperature = forms.FloatField(
        min_value=0, max_value=2, initial=0.7, widget=forms.NumberInput(attrs={"step": "0.05"})
    )
    top_p = forms.FloatField(
        label="top_p", min_value=0, max_value=1, initial=1.0, widget=forms.NumberInput(attrs={"step": "0.01"})
    )
    max_tokens = forms.IntegerField(label="Max tokens", min_value=1, max_value=32768, initial=256)
    seed = forms.IntegerField(
        required=False, min_value=SEED_MIN, max_value=SEED_MAX, help_text="Optional; blank for none."
    )
    candidates_per_prompt = forms.IntegerField(
        label="Samples per chosen prompt (N)",
        min_value=1,
        max_value=9,
        initial=2,
        help_text="N: answers this config generates for each prompt you choose (a prompt's page, a tag, a "
        "search, a selection), 1–9. Not K: the project's K, answers compared side by side per comparison, "
        "is set in the project settings; “fewer than K” tops prompts up to K.",
    )
    stop = forms.CharField(
        label="Stop sequences",
        required=False,
        max_length=1000,
        strip=False,
        help_text="Up to 4: one per line, or comma-separated. \\n stands for a newline.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    system_prompt = forms.CharField(
        label="System prompt",
        required=False,
        max_length=20_000,
        strip=False,
        help_text="Prepended to prompts that have no system message of their own.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args, config=None, **kwargs):
        self.config = config
        if config is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(config, name) for name in self.base_fields if name not in ("api_key", "stop")},
                "stop": format_stop(config.stop),
            }
        super().__init__(*args, **kwargs)
        if config is not None:
            self.fields["clear_api_key"] = forms.BooleanField(
                label="Clear the stored key", required=False, help_text="Remove the key; requests go without one."
            )
            if config.api_key:
                self.fields["api_key"].help_text = "A key is set. Leave blank to keep it, or type a new one."
                self.fields["api_key"].widget.attrs["placeholder"] = "•••••• (a key is set)"

    def clean_stop(self):
        stop = parse_stop(self.cleaned_data.get("stop") or "")
        if len(stop) > MAX_STOP:
            raise forms.ValidationError(f"At most {MAX_STOP} stop sequences.")
        if any(len(s) > 100 for s in stop):
            raise forms.ValidationError("A stop sequence has at most 100 characters.")
        return stop

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_api_key") and cleaned.get("api_key"):
            self.add_error("api_key", "Either type a new key or clear the stored one, not both.")
        return cleaned

    def service_data(self) -> dict:
        """cleaned_data as the services take it (the clear-key checkbox is handled apart)."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "clear_api_key"}
        if self.config is None and not data.get("api_key"):
            data.pop("api_key", None)
        return data


MAX_SELECTED = 1000  # prompt ids a "Generate for selected" form may carry


class BatchStartForm(Form):
    """Start a batch: a config and a target: one prompt (from a prompt's page), the prompts selected on
    the prompt list, every prompt with fewer than K candidates, every prompt, or the prompts of a tag,
    a track or a search (the prompt list's filters). `selectors.BatchTarget` says what each means."""

    TARGETS = [
        ("fewer_than", "Every prompt with fewer than K candidates: top each up to K"),
        ("all", "Every prompt: the config's samples per prompt"),
        ("tag", "The prompts with a tag"),
        ("track", "The prompts of a track"),
        ("search", "The prompts whose last user message contains a text"),
        ("selected", "The prompts selected on the prompt list"),
    ]

    model_config = forms.TypedChoiceField(label="Model config", coerce=int)
    # Optional: a form without it (the prompt list's panel) means "fewer_than".
    target = forms.ChoiceField(
        label="Prompts", choices=TARGETS, initial="fewer_than", required=False, widget=forms.RadioSelect
    )
    fewer_than = forms.IntegerField(
        label="K",
        min_value=1,
        max_value=9,
        required=False,
        help_text="Every prompt with fewer than K candidates (queued samples count) gets the missing ones.",
    )
    tag = forms.ChoiceField(required=False)
    track = forms.ChoiceField(required=False)
    search = forms.CharField(label="Search", required=False, max_length=200)
    prompt_ids = forms.TypedMultipleChoiceField(required=False, coerce=int, widget=forms.MultipleHiddenInput)
    prompt = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, configs, default_k: int = 2, tags=(), tracks=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_config"].choices = [(c.pk, f"{c.name} ({c.model})") for c in configs]
        self.fields["fewer_than"].initial = default_k
        self.fields["fewer_than"].widget.attrs.update({"min": 1, "max": 9})
        self.fields["tag"].choices = [("", "Choose a tag"), *((t, t) for t in tags)]
        self.fields["track"].choices = [("", "Choose a track"), *tracks]
        # Ids are checked against the project by the service; here only their form and number.
        raw = self.data.getlist("prompt_ids") if hasattr(self.data, "getlist") else []
        self.fields["prompt_ids"].choices = [(v, v) for v in raw[:MAX_SELECTED] if v.isascii() and v.isdigit()]
        if len(raw) > MAX_SELECTED:
            self.fields["prompt_ids"].choices = []

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("prompt") is not None:
            return cleaned
        target = cleaned["target"] = cleaned.get("target") or "fewer_than"
        needs = {"fewer_than": "fewer_than", "tag": "tag", "track": "track", "search": "search"}
        field = needs.get(target)
        if field and cleaned.get(field) in (None, "") and field not in self.errors:
            self.add_error(field, "Give K, from 1 to 9." if field == "fewer_than" else "Required for this target.")
        if target == "selected" and not cleaned.get("prompt_ids") and "prompt_ids" not in self.errors:
            self.add_error(None, f"Select prompts on the prompt list first (at most {MAX_SELECTED}).")
        return cleaned

    def batch_target(self) -> BatchTarget:
        data = self.cleaned_data
        if data.get("prompt") is not None:
            return BatchTarget(prompt_ids=(data["prompt"],))
        target = data["target"]
        if target == "selected":
            return BatchTarget(prompt_ids=tuple(data["prompt_ids"]))
        if target == "fewer_than":
            return BatchTarget(fewer_than=data["fewer_than"])
        if target == "all":
            return BatchTarget(all_prompts=True)
        return BatchTarget(**{target: data[target]})
