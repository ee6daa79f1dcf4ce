"""Forms of the evaluation pages (the sets' form; other concerns may add their own module)."""

import re

import orjson
from django import forms

from labelhub.core.forms import Form

REFERENCES_MAX_BYTES = 5 * 1024 * 1024
_SEPARATORS = re.compile(r"[\s,]+")


def parse_reference_lines(text: str) -> dict:
    """JSONL lines {"prompt_id": 12 | "external_id": "x", "reference": "..."} → {key: reference}.
    Raises forms.ValidationError naming the bad line."""
    out: dict = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise forms.ValidationError(f"Line {number} is not JSON.") from exc
        if not isinstance(row, dict) or not isinstance(row.get("reference"), str):
            raise forms.ValidationError(f'Line {number}: an object with "reference" and "prompt_id" or "external_id".')
        key = row.get("prompt_id", row.get("external_id"))
        if not isinstance(key, int | str) or isinstance(key, bool):
            raise forms.ValidationError(f'Line {number}: give "prompt_id" or "external_id".')
        out[str(key)] = row["reference"]
    return out


class EvaluationSetForm(Form):
    name = forms.CharField(max_length=100, help_text="A new selection under an existing name is its next version.")
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(
        required=False, max_length=2000, help_text="Prompts carrying all of these tags (comma-separated)."
    )
    track = forms.ChoiceField(required=False, choices=[])
    prompt_ids = forms.CharField(
        label="Prompt ids",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only these prompts (ids separated by spaces or commas).",
    )
    sample = forms.IntegerField(
        required=False, min_value=1, help_text="A random sample of this many of the prompts chosen."
    )
    seed = forms.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, help_text="The same seed picks the same sample."
    )
    references_file = forms.FileField(
        label="Reference answers (JSONL file)",
        required=False,
        help_text='One line per prompt: {"prompt_id": 12, "reference": "..."} or {"external_id": ..., ...}.',
    )
    references_text = forms.CharField(
        label="Reference answers (JSONL)",
        required=False,
        max_length=REFERENCES_MAX_BYTES,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, tracks: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].choices = [("", "Any track"), *tracks]

    def clean_prompt_ids(self) -> list[str]:
        return [v for v in _SEPARATORS.split(self.cleaned_data.get("prompt_ids") or "") if v]

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in (self.cleaned_data.get("tags") or "").split(",") if t.strip()]

    def clean_references_text(self) -> dict:
        return parse_reference_lines(self.cleaned_data.get("references_text") or "")

    def clean_references_file(self) -> dict:
        upload = self.cleaned_data.get("references_file")
        if not upload:
            return {}
        if upload.size > REFERENCES_MAX_BYTES:
            raise forms.ValidationError("At most 5 MB.")
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text.") from exc
        return parse_reference_lines(text)

    def service_input(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description") or "",
            "tags": data.get("tags") or [],
            "track": data.get("track") or "",
            "prompt_ids": data.get("prompt_ids") or None,
            "sample": data.get("sample"),
            "seed": data.get("seed"),
            "references": {**(data.get("references_file") or {}), **(data.get("references_text") or {})} or None,
        }
