from django import forms

from labelhub.core.forms import Form

ALLOWED_SUFFIXES = (".jsonl", ".ndjson", ".csv")


class PromptFilterForm(Form):
    """The prompt list's filters, bound to request.GET (unknown values are simply ignored)."""

    track = forms.ChoiceField(required=False)
    tag = forms.ChoiceField(required=False)
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Search the last user message", "autocomplete": "off"}),
    )

    def __init__(self, *args, tracks: list[tuple[str, str]], tags: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].choices = [("", "All tracks"), *tracks]
        selected = (self.data.get("tag") or "")[:64]
        if selected and selected not in tags:  # e.g. a tag chip link beyond the listed tags
            tags = [*tags, selected]
        self.fields["tag"].choices = [("", "All tags"), *((t, t) for t in tags)]

    def filters(self) -> dict:
        self.is_valid()  # an invalid field is dropped; the valid ones still filter
        return {key: self.cleaned_data.get(key) or "" for key in ("track", "tag", "q")}


class PromptImportForm(Form):
    file = forms.FileField(
        label="Prompt file",
        help_text="JSONL (one JSON object per line) or CSV with a header row. All or nothing: "
        "a file with any bad line imports nothing.",
        widget=forms.ClearableFileInput(attrs={"accept": ".jsonl,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError("Upload a .jsonl or .csv file.")
        return upload
