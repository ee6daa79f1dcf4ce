from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from labelhub.core.exceptions import ApplicationError, NotFound
from labelhub.core.forms import apply_service_error

from . import selectors, services
from .forms import ApiTokenCreateForm, LoginForm


class LoginView(auth_views.LoginView):
    """Django's login (it only follows a safe `next`), with our template."""

    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@method_decorator([never_cache, require_http_methods(["GET", "POST"])], name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's (login required, CSRF, the old password, the validators of AUTH_PASSWORD_VALIDATORS):
    this session stays logged in, the user's other sessions end. Back to the profile with a message."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Password changed. Your other sessions have been logged out.")
        return response

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """API tokens: list, create (the key is shown on this response only), link to revoke."""
    form = ApiTokenCreateForm(request.POST if request.method == "POST" else None)
    created = None  # (token, plaintext key), rendered once and never stored
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ApplicationError as exc:
                apply_service_error(form, exc)
                status = 400
            else:
                form = ApiTokenCreateForm()
        else:
            status = 400
    context = {
        "form": form,
        "tokens": selectors.api_token_list(user=request.user),
        "new_token": created[0] if created else None,
        "new_key": created[1] if created else None,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@require_POST
def token_revoke(request, token_id: int):
    try:
        token = services.api_token_revoke(user=request.user, token_id=token_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("profile")
