from .views import runs, sets, triage

# Included by labelhub/urls.py under projects/<id:project_id>/evaluation/,
# so the names are "projects:evaluation:<name>".
app_name = "evaluation"

urlpatterns = [*sets.routes, *runs.routes, *triage.routes]
