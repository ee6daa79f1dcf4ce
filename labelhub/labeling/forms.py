from django import forms

from labelhub.core.forms import Form


class ReviewForm(Form):
    """A reviewer's decision on one label. The service says whether a reject needs a comment."""

    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    @property
    def accept(self) -> bool:
        return self.cleaned_data["decision"] == "accept"
