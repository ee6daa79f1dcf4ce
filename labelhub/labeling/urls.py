from django.urls import path

from . import review_views, views

# Included by labelhub/urls.py under projects/<id:project_id>/label/,
# so the names are "projects:labeling:<name>".
app_name = "labeling"

urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("acknowledge/", views.acknowledge, name="acknowledge"),
    path("progress/", views.progress, name="progress"),
    path("sync/", views.work_items_sync, name="sync"),
    path("preference/", views.work_preference, name="preference"),
    path("mine/", views.my_labels, name="mine"),
    path("mine/<id:label_id>/reopen/", views.label_reopen, name="reopen"),
    path("review/", review_views.review_queue, name="review"),
    path("review/acknowledge/", review_views.review_acknowledge, name="review-acknowledge"),
    path("review/<id:label_id>/", review_views.review_decide, name="review-decide"),
]
