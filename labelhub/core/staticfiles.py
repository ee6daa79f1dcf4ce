"""Static files storage for production (DEBUG off).

whitenoise's compressed manifest storage, with Django's rewriting of ES module imports turned on:
static/js/workbench/main.js loads its siblings with `import { … } from "./api.js";`, and once the
files are stored under hashed names those imports must name the hashed siblings too. (The rewrite
needs the statement to end with `;`.)
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ModuleManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
