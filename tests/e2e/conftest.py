"""Browser tests: pytest-playwright's `page` against pytest-django's `live_server`, in Debian's Chromium."""

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# (fixtures, assertions) are still plain synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def _plain_http_live_server(settings):
    """The live server speaks plain HTTP on localhost, whatever the production security env says."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_HSTS_SECONDS = 0


@pytest.fixture
def console_problems(page):
    """Console errors/warnings and page errors (CSP violations are reported as console errors)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console.{msg.type}: {msg.text}")
            if msg.type in ("error", "warning") or "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    return problems


@pytest.fixture
def screenshot(page):
    """screenshot(name): save a full-page PNG to $E2E_SCREENSHOT_DIR when it is set."""
    directory = os.environ.get("E2E_SCREENSHOT_DIR")

    def take(name: str) -> None:
        if directory:
            os.makedirs(directory, exist_ok=True)
            page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)

    return take
