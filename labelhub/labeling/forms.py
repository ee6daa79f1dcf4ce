from django import forms

from labelhub.core.forms import Form

from .selectors import ANY_FLAG, UNSAFE, ReviewFilters


class ReviewForm(Form):
    """A reviewer's decision on one label. The service says whether a reject needs a comment."""

    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    @property
    def accept(self) -> bool:
        return self.cleaned_data["decision"] == "accept"


class ReviewFilterForm(Form):
    """The review queue's filters, bound to request.GET (a value not offered is dropped; the valid
    ones still filter). Choices come from the project: its members, its schema's tracks and flags,
    its guideline versions."""

    labeler = forms.ChoiceField(required=False)
    track = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False)
    flag = forms.ChoiceField(required=False)
    version = forms.TypedChoiceField(label="Guidelines", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, labelers, tracks, kinds, flags, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["labeler"].choices = [("", "All labelers"), *((u, u) for u in labelers)]
        self.fields["track"].choices = [("", "All tracks"), *tracks]
        self.fields["kind"].choices = [("", "All kinds"), *kinds]
        self.fields["flag"].choices = [
            ("", "Any or none"),
            (ANY_FLAG, "Some flag ticked"),
            (UNSAFE, "Judged unsafe"),
            *((f, f"Flag: {f}") for f in flags),
        ]
        self.fields["version"].choices = [("", "All versions"), *((str(n), f"v{n}") for n in versions)]

    def filters(self) -> ReviewFilters:
        self.is_valid()
        data = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        return ReviewFilters(
            labeler=data.get("labeler") or "",
            track=data.get("track") or "",
            kind=data.get("kind") or "",
            flag=data.get("flag") or "",
            version=data.get("version"),
        )
