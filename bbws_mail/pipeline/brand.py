"""Build-time tokens, written into sources before compiling: brand, company and assets.

``${brand.NAME}`` becomes the token's value (``brand.toml``), ``${company.KEY}`` the
company fact of ``bbws-mail.toml``'s ``[company]`` table (HTML-escaped: it lands in
markup and text), and ``${asset.FILE}`` the content-hashed name of ``assets/FILE``
(``logo.png`` -> ``logo.<sha256[:16]>.png``). So one file re-colours header, buttons,
dark mode and (through ``assets/make_logo.py``) the logo, one table moves the company's
address in every footer and invoice, and an email already sent keeps pointing at the
logo it was sent with. Values never contain a newline, so the splice's line map stays
exact.
"""

from __future__ import annotations

import difflib
import html
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bbws_mail.buildlayout import sha256_hex
from bbws_mail.config import COMPANY_KEYS, key_line, toml_problem
from bbws_mail.errors import Location, TemplateError
from bbws_mail.layout import asset_key

TOKENS_FILE = "brand.toml"
ASSETS_DIR = "assets"
TOKEN_RE = re.compile(r"\$\{(brand|company|asset)\.([A-Za-z0-9_.-]*)\}")
_HASHED_RE = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{16})(?P<suffix>\.[^.]+)?$")


@dataclass
class Brand:
    """The tokens of one project and the assets its sources referenced so far."""

    root: Path
    tokens: dict[str, str] = field(default_factory=dict)
    company: dict[str, str] = field(default_factory=dict)  # config.Company.facts()
    used_assets: dict[str, str] = field(default_factory=dict)  # name -> hashed name
    # every asset checked and hashed so far, shared by the templates of one build
    hashed: dict[str, str] = field(default_factory=dict)

    def for_template(self) -> Brand:
        """These tokens and asset hashes, with no asset used yet: one per template."""
        return Brand(self.root, self.tokens, self.company, {}, self.hashed)

    def expand(self, text: str, shown: str,
               spans: list[tuple[int, int]] | None = None) -> str:
        """``text`` (of file ``shown``) with every token replaced; TemplateError if unknown.

        ``spans`` receives the (start, end) offsets of each brand value in the returned
        text: the colour rule tells a token's colour from a literal written by hand.
        """
        if "${" not in text:
            return text
        shift = 0  # how much longer the returned text is so far than ``text``

        def value(m: re.Match[str]) -> str:
            nonlocal shift
            kind, name = m.group(1), m.group(2)
            if kind == "brand":
                if name in self.tokens:
                    written = self.tokens[name]
                    if spans is not None:
                        spans.append((m.start() + shift, m.start() + shift + len(written)))
                    shift += len(written) - len(m.group(0))
                    return written
                missing = not (self.root / TOKENS_FILE).is_file()
                raise self._unknown(text, m, shown, name, list(self.tokens),
                                    f"there is no {TOKENS_FILE} at the project root" if missing
                                    else f"{TOKENS_FILE} has no token {name!r}")
            if kind == "company":
                if name in self.company:
                    written = html.escape(self.company[name], quote=True)
                    shift += len(written) - len(m.group(0))
                    return written
                raise self._unknown(text, m, shown, name, list(COMPANY_KEYS),
                                    f"bbws-mail.toml [company] sets no {name!r}")
            done = self.hashed.get(name)
            if done is not None:
                self.used_assets[name] = done
                shift += len(done) - len(m.group(0))
                return done
            path = self.root / ASSETS_DIR / name
            if not name or "/" in name or not path.is_file():
                known = [p.name for p in (self.root / ASSETS_DIR).glob("*.*")
                         if p.suffix in (".png", ".jpg", ".jpeg", ".gif", ".svg")]
                raise self._unknown(text, m, shown, name, known,
                                    f"no asset {ASSETS_DIR}/{name}")
            if path.is_symlink() or path.resolve() != (self.root / ASSETS_DIR).resolve() / name:
                raise _error(text, m, shown, f"{ASSETS_DIR}/{name} is a symbolic link: assets "
                             "are read only as regular files of assets/ (a link could publish "
                             "any file of the machine that builds)",
                             "replace the link with the file itself")
            hashed = hashed_name(name, path.read_bytes())
            self.used_assets[name] = self.hashed[name] = hashed
            shift += len(hashed) - len(m.group(0))
            return hashed

        return TOKEN_RE.sub(value, text)

    def _unknown(self, text: str, m: re.Match[str], shown: str, name: str,
                 known: list[str], what: str) -> TemplateError:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = (f"did you mean ${{{m.group(1)}.{close[0]}}}?" if close
                else f"known: {', '.join(sorted(known)) or 'none'}")
        return _error(text, m, shown, what, hint)


def _error(text: str, m: re.Match[str], shown: str, what: str, hint: str) -> TemplateError:
    """A TemplateError at the token ``m`` of ``text`` (file ``shown``)."""
    line = text.count("\n", 0, m.start()) + 1
    column = m.start() - text.rfind("\n", 0, m.start())
    return TemplateError(Location(shown, line, column), f"{m.group(0)}: {what}", hint)


def load(root: Path, company: dict[str, str] | None = None) -> Brand:
    """The project's tokens (none when it has no ``brand.toml``) and its company facts
    (``config.Company.facts()``); TemplateError if brand.toml is invalid."""
    path = root / TOKENS_FILE
    company = dict(company or {})
    if not path.is_file():
        return Brand(root, company=company)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(Location(TOKENS_FILE), f"not UTF-8 (byte {exc.start + 1})",
                            "save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, what = toml_problem(str(exc))
        raise TemplateError(Location(TOKENS_FILE, line, column), f"not valid TOML: {what}"
                            ) from None
    bad = sorted(k for k, v in data.items() if not isinstance(v, str) or "\n" in v)
    if bad:
        raise TemplateError(Location(TOKENS_FILE, key_line(text, "", bad[0])),
                            f"token(s) {', '.join(bad)} must be one-line strings",
                            'write NAME = "value"')
    return Brand(root, dict(data), company)


def hashed_name(name: str, data: bytes) -> str:
    """``logo.png`` -> ``logo.<sha256[:16]>.png`` (the S3 layout's asset key, without prefix)."""
    return asset_key(name, sha256_hex(data)).split("/", 1)[1]


def find_asset(assets_dir: Path, requested: str) -> Path | None:
    """The file behind a hashed asset name, when its content still has that hash.

    The preview, its export and the visual tests serve ``assets/`` directly:
    ``logo.<hash>.png`` is answered with ``logo.png`` only while the hash matches.
    """
    m = _HASHED_RE.match(requested)
    if not m or "/" in requested:
        return None
    path = assets_dir / f"{m.group('stem')}{m.group('suffix') or ''}"
    if path.is_file() and hashed_name(path.name, path.read_bytes()) == requested:
        return path
    return None
