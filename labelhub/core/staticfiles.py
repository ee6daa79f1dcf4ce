"""Static files storage for production (DEBUG off).

whitenoise's compressed manifest storage, with Django's rewriting of ES module imports turned on for
our own modules: static/js/workbench/main.js loads its siblings with `import { … } from "./api.js";`,
and once the files are stored under hashed names those imports must name the hashed siblings too.
(The rewrite needs the statement to end with `;`.)

Only for js/**/workbench/*.js, not every *.js as `support_js_module_import_aggregation = True` would
do: Django's patterns also match `import("../htmx")` in third-party JSDoc comments (django-htmx's
ext/hx-sse-2.js), and collectstatic then fails on a file that does not exist.

Each post-processing pass settles one more level of the import graph (a file's hash covers its
imports' hashed names), so the passes must outnumber its depth (main.js → keyboard.js → dialogs.js
→ submit.js → task.js → … → dom.js is about ten), and the graph must have no cycle at all
(tests/core/test_staticfiles.py checks both through a real collectstatic).
"""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage

ES_MODULES = "js/workbench/*.js"


class ModuleManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    max_post_process_passes = 20
    patterns = (
        *CompressedManifestStaticFilesStorage.patterns,
        (ES_MODULES, HashedFilesMixin._js_module_import_aggregation_patterns[1]),
    )
