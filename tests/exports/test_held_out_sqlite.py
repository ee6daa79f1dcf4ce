"""The leak guard on SQLite (the twin of the PostgreSQL work-item read), in a process of its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_leak_guard_on_sqlite(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "LABELHUB_ENV_FILE": "/nonexistent",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        "LOG_LEVEL": "ERROR",
    }
    probe = ROOT / "tests" / "exports" / "sqlite_held_out_probe.py"
    result = subprocess.run(
        [sys.executable, str(probe)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    kept, held = out["kept"], out["held"]
    # Held out: the training demonstration of the held prompt is left out; the fix-it one is in.
    assert sorted(out["default"]["rows"], key=str) == sorted([[kept, None], [held, 3]], key=str)
    assert out["default"]["held_out"] == {"included": False, "rows_left_out": 1}
    assert sorted(out["included"]["rows"], key=str) == sorted([[kept, None], [held, None], [held, 3]], key=str)
    assert out["included"]["held_out"] == {"included": True, "rows_left_out": 0}
