"""Every job of the project, one nox session each.

    nox -s build     compile templates_src/ into build/ (the main job)
    nox -s tests     the whole test suite, visual regression included
    nox -s proof     a template added by hand to a copy passes the whole suite there (CI)
    nox -s check     quality gates: MJML, HTML/a11y, size, contrast, links, client CSS, spam,
                     HTML Tidy, the schemas against the 2020-12 metaschema
    nox -s lint      ruff + mypy + pylint duplicate-code
    nox -s bench     benchmarks: build stages, render vs naive path, cold start
    nox -s visual    screenshot regression only (-- --update --only NAME to approve changes)
    nox -s preview   the designer preview server
    nox -s new       a new template: -- NAME --category CATEGORY
    nox -s cli       any bbws-mail command: -- publish --env dev --dry-run
    nox -s package   the Lambda deployment zip (refuses a stale build/)

`build` and `package` keep a small environment of the [build] extra, so the main job
installs in seconds. Every other session shares ONE environment of the [dev] extras,
`.nox/dev` (~900 MB, made once by whichever of them runs first), instead of nox's venv
per session: `.nox/dev/bin` also puts `bbws-mail` on PATH for a shell.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["build", "tests"]
PY = "3.11"
DEV = Path(".nox/dev")


def _stamp() -> str:
    return str(os.path.getmtime("pyproject.toml"))


def _install(session: nox.Session, extras: str) -> None:
    """Install the project with ``extras`` into the session's own venv, once per pyproject."""
    marker = os.path.join(session.virtualenv.location, f".installed-{extras}")
    if os.path.exists(marker) and Path(marker).read_text() == _stamp():
        return
    session.install("-e", f".[{extras}]")
    Path(marker).write_text(_stamp())


def _dev(session: nox.Session) -> Path:
    """The shared [dev] environment (made and installed when missing or stale); its bin/."""
    bin_dir = DEV.resolve() / "bin"
    marker = DEV / ".installed-dev"
    if not (bin_dir / "python").exists():
        python = shutil.which(f"python{PY}") or shutil.which("python3") or "python3"
        session.run(python, "-m", "venv", str(DEV), external=True)
    if not (marker.exists() and marker.read_text() == _stamp()):
        session.run(str(bin_dir / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "-e", ".[dev]", external=True)
        marker.write_text(_stamp())
    session.env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    session.env["VIRTUAL_ENV"] = str(DEV.resolve())
    return bin_dir


def _run_dev(session: nox.Session, program: str, *args: str) -> None:
    """Run ``program`` from the shared environment (made first when missing)."""
    session.run(str(_dev(session) / program), *args, external=True)


def _system_deps(session: nox.Session) -> None:
    """Chromium, pinned fonts, SpamAssassin and tidy (apt-get, when root and missing)."""
    session.run("bash", "scripts/system-deps.sh", external=True)


@nox.session(python=PY)
def build(session: nox.Session) -> None:
    """Compile every template into build/ (atomic; build/ untouched on error)."""
    _install(session, "build")
    session.run("bbws-mail", "build", *session.posargs)


@nox.session(python=PY)
def package(session: nox.Session) -> None:
    """The Lambda deployment zip in dist/: runtime + templates, byte-compiled for python3.11."""
    _install(session, "build")
    session.run("python", "-m", "bbws_mail.pipeline.package", *session.posargs)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The full test suite (installs Chromium and fonts first when run as root on Debian)."""
    _system_deps(session)
    # one worker per core; a file's tests stay on one worker, in order (runbooks are steps)
    parallel = [] if any(a.startswith("-n") for a in session.posargs) else [
        "-n", "auto", "--dist", "loadfile"]
    _run_dev(session, "pytest", *parallel, *session.posargs)


@nox.session(venv_backend="none")
def proof(session: nox.Session) -> None:
    """Templates are data: a template added by hand to a copy passes the whole suite there."""
    _system_deps(session)
    _run_dev(session, "pytest", "-m", "proof", "tests/pipeline/test_new.py", *session.posargs)


@nox.session(venv_backend="none")
def check(session: nox.Session) -> None:
    """Quality gates on every template (`-- --format json` for CI, `-- --only NAME`)."""
    _system_deps(session)
    _run_dev(session, "bbws-mail", "check", *session.posargs)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff and mypy over the package, tests and benchmarks, and pylint's duplicate-code
    check of the package (a copied block of 6+ lines is a concept with two owners; the
    generated TypedDicts, a symlink into build/, are left out) (CI runs it: .ci/run)."""
    _run_dev(session, "ruff", "check", "bbws_mail", "tests", "benchmarks", "noxfile.py")
    _run_dev(session, "mypy")
    _run_dev(session, "pylint", "--disable=all", "--enable=duplicate-code",
             "--min-similarity-lines=6", "--score=no",
             "--ignore-paths=^bbws_mail/datatypes\\.py$,^bbws_mail/_build/", "bbws_mail")


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Benchmarks, each reporting ratios against a baseline measured in the same run."""
    _run_dev(session, "python", "-m", "benchmarks", *session.posargs)


@nox.session(venv_backend="none")
def visual(session: nox.Session) -> None:
    """Screenshot regression only; `-- --update --only NAME` retakes one template's shots."""
    _system_deps(session)
    _run_dev(session, "python", "-m", "bbws_mail.visual", *session.posargs)


@nox.session(venv_backend="none")
def preview(session: nox.Session) -> None:
    """Designer preview server with live reload (http://127.0.0.1:8025 by default)."""
    _run_dev(session, "bbws-mail", "preview", *session.posargs)


@nox.session(venv_backend="none")
def new(session: nox.Session) -> None:
    """A new template and its schema, example and [templates] line: `-- NAME --category C`."""
    _run_dev(session, "bbws-mail", "new", *session.posargs)


@nox.session(venv_backend="none")
def cli(session: nox.Session) -> None:
    """Any bbws-mail command in the shared environment: `nox -s cli -- status`."""
    _run_dev(session, "bbws-mail", *session.posargs)


@nox.session(venv_backend="none")
def publish(session: nox.Session) -> None:
    """Publish build/ to an environment: `nox -s publish -- --env dev [--dry-run]`."""
    _run_dev(session, "bbws-mail", "publish", *session.posargs)
