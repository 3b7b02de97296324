"""Shared fixtures: the project root, a throwaway copy of a small project, builds."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import smtp as smtp_server

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The templates as templates_src/ has them: tests pick from here, never by a name of their own.
TEMPLATES = sorted(p.stem for p in (ROOT / "templates_src").glob("*.mjml") if p.is_file())
# The brand tokens as brand.toml states them: tests take colours from here, never literals.
BRAND = tomllib.loads((ROOT / "brand.toml").read_text(encoding="utf-8"))


# Names a test may resolve: this machine only. Anything else would be traffic to outside
# (a real AWS endpoint reached because a client was not pointed at the local server).
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "0.0.0.0", "::", ""}


def _local(host: object) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _nothing_leaves_this_machine() -> Iterator[None]:
    """Every test talks to servers on 127.0.0.1 only: resolving any other host fails at
    once, so a client left pointing at AWS is a clear error, never a packet outside."""
    real = socket.getaddrinfo

    def local_only(host: object, *args: object, **kwargs: object) -> object:
        if not _local(host):
            raise socket.gaierror(socket.EAI_NONAME,
                                  f"tests reach only this machine, not {host!r}")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", local_only)
        yield


def css_rgb(hex_colour: str) -> str:
    """``#rrggbb`` (or ``#rgb``) as a browser's computed style writes it: ``rgb(r, g, b)``."""
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"



def _spec_dir() -> Path:
    """The official Mustache spec data, kept beside the checkout (never copied in)."""
    for candidate in (os.environ.get("BBWS_MUSTACHE_SPEC"), ROOT.parent / "shared/mustache-spec",
                      "/work/shared/mustache-spec"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return ROOT.parent / "shared" / "mustache-spec"


SPEC_DIR = _spec_dir()


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/mini (one template, partials, schema) to break at will."""
    dest = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", dest)
    return dest


@pytest.fixture(scope="session")
def project_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real project's templates built once per session into a temp folder."""
    from bbws_mail import config
    from bbws_mail.pipeline import build

    out = tmp_path_factory.mktemp("build") / "build"
    build(config.load(ROOT), out)
    return out


@pytest.fixture
def smtp() -> Iterator[tuple[smtp_server.Catcher, int]]:
    """A local SMTP server (aiosmtpd) on a free port: (handler, port)."""
    yield from smtp_server.serve()


@pytest.fixture(autouse=True)
def _fresh_credentials() -> Iterator[None]:
    """Each test starts without the per-environment sessions an earlier one cached (a CLI
    run is a new process each time; a test process is not)."""
    yield
    from bbws_mail.publish import credentials

    credentials.clear_cache()
