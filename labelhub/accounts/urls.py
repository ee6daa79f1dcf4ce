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
]
