"""The evaluation alarms on a project's overview (projects/detail.html loads this tag, so the projects
app imports nothing of evaluation): the alarms of each set's latest finished run, for those who may read
reports (EVALUATE). Warnings stay on the evaluation pages; here only what needs acting on."""

from django import template

from ..selectors.sets import evaluation_sets, report_alarms

register = template.Library()


@register.inclusion_tag("evaluation/_overview_alarms.html")
def evaluation_alarms(project, can_evaluate: bool) -> dict:
    if not can_evaluate:
        return {"rows": []}
    rows = []
    for evaluation_set in evaluation_sets(project=project):
        alarms = [a for a in report_alarms(evaluation_set.latest_report) if a.get("level") == "alarm"]
        if alarms:
            rows.append({"set": evaluation_set, "run_number": evaluation_set.latest_run_number, "alarms": alarms})
    return {"rows": rows, "project": project}
