"""The Lambda deployment zip: the runtime only, the templates inside, byte-compiled.

    nox -s package            # dist/bbws-mail-lambda-<buildVersion>.zip

Refuses a ``build/`` that is not exactly what the sources build to (the same
check as publishing). The zip holds ``bbws_mail`` without its build-time
subpackages (pipeline, publish, lint, preview, visual, the CLI), the build as
``bbws_mail/_build`` and ``chevron``; boto3 is not included, the Lambda Python
runtime provides it (and it is imported only by the S3 source and SES sending).
Every module is byte-compiled for the pinned runtime (unchecked-hash pycs, so a
cold start neither stats sources nor writes caches) and the zip is deterministic
(sorted entries, fixed timestamps): the same build gives the same bytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import py_compile
import shutil
import sys
import tempfile
import zipfile
from importlib.metadata import distribution
from pathlib import Path

from bbws_mail import buildlayout
from bbws_mail.errors import ConfigError, PackageError
from bbws_mail.layers import LAYERS

LAMBDA_PYTHON = (3, 11)  # the runtime pinned in noxfile.py (python3.11 on Lambda)
# the runtime layer (bbws_mail.layers), as file stems of the package
RUNTIME_MODULES = tuple(m.removeprefix("bbws_mail").removeprefix(".") or "__init__"
                        for m in dict(LAYERS)["runtime"])
RUNTIME_DEPENDENCIES = ("chevron",)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def stage(build_dir: Path, dest: Path) -> None:
    """Lay out the zip's content under ``dest``."""
    package = Path(__file__).resolve().parent.parent
    (dest / "bbws_mail").mkdir(parents=True)
    for module in RUNTIME_MODULES:
        shutil.copyfile(package / f"{module}.py", dest / "bbws_mail" / f"{module}.py")
    shutil.copyfile(package / "py.typed", dest / "bbws_mail" / "py.typed")
    shutil.copytree(build_dir, dest / "bbws_mail" / "_build",
                    ignore=shutil.ignore_patterns("__pycache__", ".*"))
    for dist_name in RUNTIME_DEPENDENCIES:
        dist = distribution(dist_name)
        for file in dist.files or []:
            parts = Path(str(file)).parts
            if parts[0].startswith("..") or "__pycache__" in parts or (parts[0].endswith(
                    ".dist-info") and parts[-1] in ("RECORD", "INSTALLER")):
                continue
            source = Path(str(dist.locate_file(file)))
            target = dest / Path(str(file))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def byte_compile(root: Path) -> None:
    """pycs beside every module, for this interpreter (which must be the pinned one).

    Tracebacks name files relative to the zip's root (``bbws_mail/render.py``) rather
    than the temporary staging folder, which also keeps the bytes reproducible.
    """
    for path in sorted(root.rglob("*.py")):
        py_compile.compile(str(path), cfile=importlib.util.cache_from_source(str(path)),
                           dfile=path.relative_to(root).as_posix(), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def write_zip(root: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    os.replace(tmp, out)


def make_package(root: Path | None = None, out: Path | None = None) -> Path:
    """Verify ``build/`` is fresh, then write the zip; return its path."""
    from bbws_mail import config as config_module
    from bbws_mail.pipeline import verify_fresh

    if sys.version_info[:2] != LAMBDA_PYTHON:
        want = ".".join(map(str, LAMBDA_PYTHON))
        raise PackageError(f"byte-compiling needs Python {want} (the Lambda runtime); this is "
                           f"{sys.version_info[0]}.{sys.version_info[1]}: run `nox -s package`")
    config = config_module.load(root)
    problems = verify_fresh(config)
    if problems:
        raise PackageError("\n".join(
            [f"build/ is not what the sources build to; nothing was packaged "
             f"({len(problems)} problem(s) follow)", *problems]))
    try:
        manifest = buildlayout.read_manifest(str(config.build_dir))
    except buildlayout.BuildLayoutError as exc:
        raise PackageError(str(exc)) from None
    out = out or config.root / "dist" / f"bbws-mail-lambda-{manifest['buildVersion']}.zip"
    with tempfile.TemporaryDirectory(prefix="bbws-package-") as tmp:
        staged = Path(tmp)
        stage(config.build_dir, staged)
        byte_compile(staged)
        write_zip(staged, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bbws_mail.pipeline.package",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="project root (default: cwd)")
    parser.add_argument("--out", type=Path, default=None, help="zip path")
    args = parser.parse_args(argv)
    try:
        out = make_package(args.root, args.out)
    except ConfigError as exc:  # bbws-mail.toml cannot be used: nothing was tried
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PackageError as exc:
        for line in str(exc).splitlines():  # one problem a line, as every command says it
            print(f"error: {line}", file=sys.stderr)
        return 1
    print(f"package: {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
