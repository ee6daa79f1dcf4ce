from django.urls import path

from . import views

# Included by labelhub/urls.py under projects/<id:project_id>/quality/,
# so the names are "projects:quality:<name>".
app_name = "quality"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("recompute/", views.recompute, name="recompute"),
    path("status/", views.recompute_status, name="status"),
    path("labelers/", views.labelers, name="labelers"),
    path("labelers/<id:user_id>/quarantine/", views.labeler_quarantine, name="quarantine"),
    path("labelers/<id:user_id>/release/", views.labeler_release, name="release"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("adjudication/", views.adjudication, name="adjudication"),
    path("adjudication/<id:work_item_id>/", views.adjudicate, name="adjudicate"),
    path("gold/", views.gold, name="gold"),
    path("gold/<id:work_item_id>/", views.gold_set, name="gold-set"),
    path("gold/<id:work_item_id>/unset/", views.gold_unset, name="gold-unset"),
]
