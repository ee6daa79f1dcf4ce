from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from labelhub.core.clientip import client_ip
from labelhub.core.exceptions import ApplicationError, NotFound
from labelhub.core.forms import apply_service_error

from . import once, selectors, services
from .forms import ApiTokenCreateForm, LoginForm, SetPasswordForm
from .services import LinkState
from .throttle import LINK_FAILURES


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
    """API tokens: list, create, link to revoke. POST/redirect/GET: a new key goes through the session
    to the next GET of this page only, so a reload neither mints a second token nor shows the key again."""
    form = ApiTokenCreateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                token, key = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ApplicationError as exc:
                apply_service_error(form, exc)
            else:
                once.stash(request, "api-token", {"name": token.name, "key": key})
                return redirect("profile")
    created = once.take(request, "api-token") if status == 200 else None
    context = {
        "form": form,
        "tokens": selectors.api_token_list(user=request.user),
        "new_token": created,
        "new_key": created["key"] if created else None,
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


# Set-password links ---------------------------------------------------------------------------

_SESSION_TOKEN = "set_password_token"  # noqa: S105 - a session key, not a secret


def _link_problem(request, state: str):
    """A clear page for a link that cannot be used: unknown (404), used or expired (410)."""
    status = 404 if state == LinkState.UNKNOWN else 410
    return render(request, "registration/set_password_invalid.html", {"state": state}, status=status)


def _locked(request):
    return render(request, "registration/set_password_invalid.html", {"state": "locked"}, status=429)


@never_cache
@require_http_methods(["GET"])
def set_password_link(request, token: str):
    """The link itself: check it, move the token into the session and redirect to a URL without it
    (so it leaves no trace in the history, the Referer or the access log of the next page)."""
    ip = client_ip(request) or "unknown"
    if LINK_FAILURES.blocked(ip):
        return _locked(request)
    link = selectors.set_password_link_by_token(token=token)
    state = services.set_password_link_state(link)
    if state == LinkState.UNKNOWN:
        LINK_FAILURES.fail(ip)
    if state != LinkState.VALID:
        return _link_problem(request, state)
    request.session[_SESSION_TOKEN] = token
    return redirect("set-password")


@never_cache
@require_http_methods(["GET", "POST"])
def set_password(request):
    """Choose a password (Django's validators), then log in and land where the link says."""
    token = request.session.get(_SESSION_TOKEN)
    if not token:
        return _link_problem(request, LinkState.UNKNOWN)
    link = selectors.set_password_link_by_token(token=token)
    state = services.set_password_link_state(link)
    if state != LinkState.VALID:
        request.session.pop(_SESSION_TOKEN, None)
        return _link_problem(request, state)
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            link = services.set_password_link_use(token=token, **form.cleaned_data)
        except NotFound as exc:
            request.session.pop(_SESSION_TOKEN, None)
            return _link_problem(request, exc.extra.get("state", LinkState.UNKNOWN))
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            login(request, link.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop(_SESSION_TOKEN, None)
            messages.success(request, f"Welcome, {link.user.username}. Your password is set.")
            return redirect(_landing(request, link.next_path))
    status = 400 if form.is_bound else 200
    return render(request, "registration/set_password.html", {"form": form, "account": link.user}, status=status)


def _landing(request, path: str) -> str:
    if path and url_has_allowed_host_and_scheme(path, allowed_hosts={request.get_host()}):
        return path
    return settings.LOGIN_REDIRECT_URL
