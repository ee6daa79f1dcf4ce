from csp.decorators import csp_update
from django.urls import path

from labelhub.evaluation.apis import routes as evaluation_routes
from labelhub.exports import apis as exports
from labelhub.generation import apis as generation
from labelhub.labeling import apis as labeling
from labelhub.projects import apis as projects
from labelhub.prompts import apis as prompts
from labelhub.quality import apis as quality

from .schema_views import SchemaApi, SchemaDocsApi

urlpatterns = [
    path("v1/me", projects.MeApi.as_view(), name="me"),
    path("v1/projects", projects.ProjectListCreateApi.as_view(), name="projects"),
    path("v1/projects/<id:project_id>", projects.ProjectDetailApi.as_view(), name="project"),
    path("v1/projects/<id:project_id>/members", projects.MembershipListCreateApi.as_view(), name="members"),
    path(
        "v1/projects/<id:project_id>/members/<id:membership_id>",
        projects.MembershipDetailApi.as_view(),
        name="member",
    ),
    path(
        "v1/projects/<id:project_id>/guidelines",
        projects.GuidelineVersionListPublishApi.as_view(),
        name="guidelines",
    ),
    path(
        "v1/projects/<id:project_id>/guidelines/draft",
        projects.GuidelineDraftApi.as_view(),
        name="guideline-draft",
    ),
    path(
        "v1/projects/<id:project_id>/guidelines/diff",
        projects.GuidelineDiffApi.as_view(),
        name="guideline-diff",
    ),
    path(
        "v1/projects/<id:project_id>/guidelines/<id:number>",
        projects.GuidelineVersionDetailApi.as_view(),
        name="guideline",
    ),
    path("v1/projects/<id:project_id>/schema", projects.ProjectSchemaApi.as_view(), name="project-schema"),
    path(
        "v1/projects/<id:project_id>/guidelines/versions/<id:number>/schema",
        projects.GuidelineVersionSchemaApi.as_view(),
        name="guideline-schema",
    ),
    path("v1/schema-presets", projects.SchemaPresetListApi.as_view(), name="schema-presets"),
    path(
        "v1/projects/<id:project_id>/guidelines/<id:number>/acknowledge",
        projects.GuidelineAcknowledgeApi.as_view(),
        name="guideline-acknowledge",
    ),
    path("v1/projects/<id:project_id>/prompts", prompts.PromptListApi.as_view(), name="prompts"),
    path("v1/projects/<id:project_id>/prompts/import", prompts.PromptImportApi.as_view(), name="prompt-import"),
    path(
        "v1/projects/<id:project_id>/prompts/<id:prompt_id>",
        prompts.PromptDetailApi.as_view(),
        name="prompt",
    ),
    path(
        "v1/projects/<id:project_id>/prompt-imports/<id:import_id>",
        prompts.PromptImportDetailApi.as_view(),
        name="prompt-import-detail",
    ),
    path(
        "v1/projects/<id:project_id>/model-configs",
        generation.ModelConfigListCreateApi.as_view(),
        name="model-configs",
    ),
    path(
        "v1/projects/<id:project_id>/model-configs/<id:config_id>",
        generation.ModelConfigDetailApi.as_view(),
        name="model-config",
    ),
    path(
        "v1/projects/<id:project_id>/model-configs/<id:config_id>/test",
        generation.ModelConfigTestApi.as_view(),
        name="model-config-test",
    ),
    path(
        "v1/projects/<id:project_id>/generation-batches",
        generation.BatchListCreateApi.as_view(),
        name="generation-batches",
    ),
    path("v1/generation-batches/<id:batch_id>", generation.BatchDetailApi.as_view(), name="generation-batch"),
    path("v1/generation-batches/<id:batch_id>/jobs", generation.BatchJobsApi.as_view(), name="generation-batch-jobs"),
    path(
        "v1/generation-batches/<id:batch_id>/retry-failed",
        generation.BatchRetryFailedApi.as_view(),
        name="generation-batch-retry",
    ),
    path("v1/generation-jobs/<id:job_id>/retry", generation.JobRetryApi.as_view(), name="generation-job-retry"),
    path("v1/projects/<id:project_id>/work/next", labeling.WorkNextApi.as_view(), name="work-next"),
    path("v1/projects/<id:project_id>/work/sync", labeling.WorkSyncApi.as_view(), name="work-sync"),
    path("v1/projects/<id:project_id>/work/preference", labeling.WorkPreferenceApi.as_view(), name="work-preference"),
    path("v1/projects/<id:project_id>/my-labels", labeling.MyLabelsApi.as_view(), name="my-labels"),
    path("v1/work-items/<id:work_item_id>", labeling.TaskDetailApi.as_view(), name="work-item"),
    path(
        "v1/work-items/<id:work_item_id>/demonstration",
        labeling.DemonstrationSubmitApi.as_view(),
        name="work-item-demonstration",
    ),
    path("v1/work-items/<id:work_item_id>/ranking", labeling.RankingSubmitApi.as_view(), name="work-item-ranking"),
    path("v1/work-items/<id:work_item_id>/skip", labeling.SkipApi.as_view(), name="work-item-skip"),
    path("v1/work-items/<id:work_item_id>/resume", labeling.ResumeApi.as_view(), name="work-item-resume"),
    path("v1/work-items/<id:work_item_id>/draft", labeling.DraftApi.as_view(), name="work-item-draft"),
    path("v1/labels/<id:label_id>/review", labeling.ReviewApi.as_view(), name="label-review"),
    path("v1/labels/<id:label_id>/reopen", labeling.LabelReopenApi.as_view(), name="label-reopen"),
    path("v1/projects/<id:project_id>/exports/sft.jsonl", exports.SftExportApi.as_view(), name="export-sft"),
    path(
        "v1/projects/<id:project_id>/exports/preferences.jsonl",
        exports.PreferencesExportApi.as_view(),
        name="export-preferences",
    ),
    path("v1/projects/<id:project_id>/exports/kto.jsonl", exports.KtoExportApi.as_view(), name="export-kto"),
    path(
        "v1/projects/<id:project_id>/exports/rankings.jsonl",
        exports.RankingsExportApi.as_view(),
        name="export-rankings",
    ),
    path("v1/projects/<id:project_id>/snapshots", exports.SnapshotListCreateApi.as_view(), name="snapshots"),
    path(
        "v1/projects/<id:project_id>/snapshots/<id:snapshot_id>",
        exports.SnapshotDetailApi.as_view(),
        name="snapshot",
    ),
    path(
        "v1/projects/<id:project_id>/snapshots/<id:snapshot_id>/download",
        exports.SnapshotDownloadApi.as_view(),
        name="snapshot-download",
    ),
    path(
        "v1/projects/<id:project_id>/labelers/<id:user_id>/quarantine",
        quality.LabelerQuarantineApi.as_view(),
        name="labeler-quarantine",
    ),
    path(
        "v1/projects/<id:project_id>/labelers/<id:user_id>/release",
        quality.LabelerReleaseApi.as_view(),
        name="labeler-release",
    ),
    path("v1/projects/<id:project_id>/gold", quality.GoldListApi.as_view(), name="gold-items"),
    path("v1/work-items/<id:work_item_id>/gold", quality.GoldApi.as_view(), name="work-item-gold"),
    path("v1/projects/<id:project_id>/adjudications", quality.AdjudicationListApi.as_view(), name="adjudications"),
    path("v1/work-items/<id:work_item_id>/adjudicate", quality.AdjudicateApi.as_view(), name="work-item-adjudicate"),
    path("v1/projects/<id:project_id>/quality-events", quality.QualityEventListApi.as_view(), name="quality-events"),
    path("v1/projects/<id:project_id>/stats", quality.StatsApi.as_view(), name="stats"),
    path("v1/projects/<id:project_id>/stats/refresh", quality.StatsRefreshApi.as_view(), name="stats-refresh"),
    path("v1/projects/<id:project_id>/leaderboard", quality.LeaderboardApi.as_view(), name="leaderboard"),
    path("schema/", SchemaApi.as_view(), name="schema"),
    # Swagger UI sets style attributes from its scripts: inline styles (never scripts) on this page only.
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SchemaDocsApi.as_view(url_name="api:schema")),
        name="docs",
    ),
]

urlpatterns += evaluation_routes  # /api/v1/… routes of evaluation sets, runs and triage
