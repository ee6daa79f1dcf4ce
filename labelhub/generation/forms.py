"""Forms of the generation pages. They shape input for the services, which validate it again."""

from django import forms

from labelhub.core.forms import Form

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
        label="Candidates per prompt",
        min_value=1,
        max_value=9,
        initial=2,
        help_text="Samples per prompt, for a chosen prompt (1–9).",
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


class BatchStartForm(Form):
    """Start a batch: a config, then either one prompt (its config's N samples) or every prompt
    with fewer than K candidates."""

    model_config = forms.TypedChoiceField(label="Model config", coerce=int)
    fewer_than = forms.IntegerField(
        label="Prompts with fewer than K candidates",
        min_value=1,
        max_value=9,
        required=False,
        help_text="Every prompt with fewer than K candidates (queued samples count) gets the missing ones.",
    )
    prompt = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, configs, default_k: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_config"].choices = [(c.pk, f"{c.name} ({c.model})") for c in configs]
        self.fields["fewer_than"].initial = default_k
        self.fields["fewer_than"].widget.attrs.update({"min": 1, "max": 9})

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("prompt") is None and cleaned.get("fewer_than") is None and "fewer_than" not in self.errors:
            self.add_error("fewer_than", "Give K, from 1 to 9.")
        return cleaned
