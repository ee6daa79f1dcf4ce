from django import forms
from django.contrib.auth.forms import AuthenticationForm

from labelhub.core.forms import Form


class ApiTokenCreateForm(Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What will use it, e.g. “nightly export”. You can revoke it at any time.",
    )


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
