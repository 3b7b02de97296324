"""Every job of the project, one nox session each.

    nox -s build     compile templates_src/ into build/ (the main job)
    nox -s tests     the whole test suite, visual regression included
    nox -s check     quality gates: MJML, HTML/a11y, size, contrast, links, client CSS, spam
    nox -s lint      ruff + mypy
    nox -s bench     benchmarks: build stages, render vs naive path, cold start
    nox -s visual    screenshot regression only (-- --update to approve changes)
    nox -s package   the Lambda deployment zip (refuses a stale build/)
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["build", "tests"]
PY = "3.11"


def _install(session: nox.Session, extras: str) -> None:
    # Skip reinstalling when nothing changed: keeps `nox -s build` fast on reruns.
    marker = os.path.join(session.virtualenv.location, f".installed-{extras}")
    stamp = str(os.path.getmtime("pyproject.toml"))
    if os.path.exists(marker) and Path(marker).read_text() == stamp:
        return
    session.install("-e", f".[{extras}]")
    with open(marker, "w") as fh:
        fh.write(stamp)


@nox.session(python=PY)
def build(session: nox.Session) -> None:
    """Compile every template into build/ (atomic; build/ untouched on error)."""
    _install(session, "build")
    session.run("bbws-mail", "build", *session.posargs)


@nox.session(python=PY)
def check(session: nox.Session) -> None:
    """Quality gates on every template (`-- --format json` for CI, `-- --only NAME`)."""
    _install(session, "build")
    session.run("bash", "scripts/system-deps.sh", external=True)
    session.run("bbws-mail", "check", *session.posargs)


@nox.session(python=PY)
def tests(session: nox.Session) -> None:
    """The full test suite (installs Chromium and fonts first when run as root on Debian)."""
    _install(session, "dev")
    session.run("bash", "scripts/system-deps.sh", external=True)
    session.run("pytest", *session.posargs)


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    """ruff and mypy over the package, tests and benchmarks (CI runs it: .ci/run)."""
    _install(session, "dev")
    session.run("ruff", "check", "bbws_mail", "tests", "benchmarks", "noxfile.py")
    session.run("mypy")


@nox.session(python=PY)
def bench(session: nox.Session) -> None:
    """Benchmarks, each reporting ratios against a baseline measured in the same run."""
    _install(session, "dev")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PY)
def visual(session: nox.Session) -> None:
    """Screenshot regression only; `nox -s visual -- --update` rewrites the baselines."""
    _install(session, "dev")
    session.run("bash", "scripts/system-deps.sh", external=True)
    session.run("python", "-m", "bbws_mail.visual", *session.posargs)


@nox.session(python=PY)
def preview(session: nox.Session) -> None:
    """Designer preview server with live reload (http://127.0.0.1:8025 by default)."""
    _install(session, "dev")
    session.run("bbws-mail", "preview", *session.posargs)


@nox.session(python=PY)
def publish(session: nox.Session) -> None:
    """Publish build/ to an environment: `nox -s publish -- --env dev [--dry-run]`."""
    _install(session, "build,publish")
    session.run("bbws-mail", "publish", *session.posargs)


@nox.session(python=PY)
def package(session: nox.Session) -> None:
    """The Lambda deployment zip in dist/: runtime + templates, byte-compiled for python3.11."""
    _install(session, "build")
    session.run("python", "-m", "bbws_mail.pipeline.package", *session.posargs)
