from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

# Not namespaced: settings.LOGIN_URL and LOGOUT_REDIRECT_URL refer to "login".
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # POST only (Django ≥ 5)
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("profile/tokens/<id:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    # A one-time link: the token moves into the session and the browser to a URL without it.
    path("set-password/<str:token>/", views.set_password_link, name="set-password-link"),
    path("set-password/", views.set_password, name="set-password"),
]
