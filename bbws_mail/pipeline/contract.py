"""The data contract: every placeholder is declared in the template's JSON Schema.

Build-time half of the contract (the render-time half is ``bbws_mail.validate``).
Schemas are bundled here into one self-contained document per template (``$ref``
inlined), which is what ``build/`` ships and what the runtime compiles. Then each
placeholder is resolved the way Mustache resolves it at render time: through the
section scopes, innermost first, dotted names strictly. Anything a schema does
not declare, any section on a scalar, any variable naming an object, any URL
placeholder that is not URL-typed, and any required field the template never
shows is an error with the template's file:line, or the schema file:line:column
where the field was written (a shared ``defs/`` file for most).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bbws_mail.errors import Location, TemplateError
from bbws_mail.pipeline import jsonpos
from bbws_mail.pipeline.placeholders import Placeholder
from bbws_mail.pipeline.splice import Spliced
from bbws_mail.pipeline.subject import Subject
from bbws_mail.validate import check_schema, describe

# Values the renderer provides itself; templates may use them without declaring them.
GLOBALS: dict[str, dict[str, Any]] = {
    "assetBaseUrl": {"type": "string", "format": "uri"},
}
URL_ATTRS = {"href", "src"}
SCALARS = {"string", "number", "integer", "boolean", "null"}
# What SchemaBundle.locate looks for: a key of the node itself, a key of its
# ``properties``, or an entry of its ``required`` list.
KEY, PROPERTY, REQUIRED = "key", "properties", "required"
Origin = tuple[Path, jsonpos.Pointer]


class SchemaFiles:
    """The schema files one build has read, parsed, and judged as ``$ref`` targets.

    Every template's schema refers to the same ``defs/`` files hundreds of times; the
    bundles of one build share this, so each file is read, parsed and checked once.
    Parsed documents are only read by :meth:`SchemaBundle._deref`, which builds new
    dicts and lists, so bundles never share a node (``enum``/``const``/``examples``
    values aside, which nothing changes).
    """

    def __init__(self, schemas_dir: Path) -> None:
        self.schemas_dir = schemas_dir
        self.docs: dict[Path, Any] = {}
        self.texts: dict[Path, str] = {}
        self.targets: dict[tuple[Path, str], Path] = {}
        self.problems: dict[Path, tuple[str, ...]] = {}
        self.real_root = os.path.realpath(schemas_dir)
        # sub-schemas the validator's generator took without an error (validate.check_schema)
        self.known_good: set[str] = set()


class SchemaBundle:
    """A template schema with every ``$ref`` inlined, and where each part came from."""

    def __init__(self, schemas_dir: Path, name: str, files: SchemaFiles | None = None
                 ) -> None:
        self.schemas_dir = schemas_dir
        self.path = schemas_dir / f"{name}.schema.json"
        self.display = _display(self.path, schemas_dir)
        # id(node) -> where its keys were written (file, pointer): one place, or for a
        # $ref with sibling keywords the siblings' place first, then the target's
        self.origin: dict[int, list[Origin]] = {}
        if files is None or files.schemas_dir != schemas_dir:
            files = SchemaFiles(schemas_dir)
        self._files = files
        self._docs = files.docs
        self._texts = files.texts
        self._targets = files.targets
        self._problems = files.problems
        self._read: dict[Path, None] = {}  # the files this bundle read, in order
        self.known_good = files.known_good
        if not self.path.is_file():
            raise TemplateError(Location(self.display), "schema file is missing",
                                f"create {self.display} describing the template's variables")
        self.path = _normalise(self.path)
        root = self._load(self.path)
        if not isinstance(root, dict):
            raise TemplateError(self._at(self.path, (), None),
                                "the schema must be a JSON object",
                                'start from {"type": "object", "properties": {...}}')
        self.schema: dict[str, Any] = self._deref(root, self.path, (), ())
        self.schema.pop("$defs", None)

    @property
    def files(self) -> list[Path]:
        """Every schema file the bundle read (the template's own and its $ref targets)."""
        return list(self._read)

    def _load(self, path: Path) -> Any:
        if path not in self._docs:
            shown = _display(path, self.schemas_dir)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise TemplateError(Location(shown), "referenced schema file not found") from None
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line_start = data.rfind(b"\n", 0, exc.start) + 1
                raise TemplateError(
                    Location(shown, data.count(b"\n", 0, exc.start) + 1,
                             len(data[line_start:exc.start].decode()) + 1),
                    f"not valid UTF-8: byte 0x{data[exc.start]:02x} ({exc.reason})",
                    "save the file as UTF-8") from None
            try:
                self._docs[path] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TemplateError(Location(shown, exc.lineno, exc.colno),
                                    f"invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise TemplateError(Location(shown, *jsonpos.position(text, _deep_at(text))),
                                    f"invalid JSON: nested deeper than {_MAX_DEPTH} levels",
                                    "a schema needs a few levels, not hundreds") from None
            except ValueError as exc:  # a number too long for Python to read
                raise TemplateError(Location(shown), f"invalid JSON: {exc}") from None
            self._texts[path] = text
        self._read[path] = None
        return self._docs[path]

    def _at(self, file: Path, pointer: jsonpos.Pointer, key: str | None) -> Location:
        """file:line:column of ``key`` in the object at ``pointer`` (of the value itself
        when ``key`` is None); the file alone when it cannot be found."""
        text = self._texts.get(file, "")
        offset = (jsonpos.value_at(text, pointer) if key is None
                  else jsonpos.member(text, pointer, key))
        shown = _display(file, self.schemas_dir)
        return Location(shown) if offset is None else Location(shown,
                                                               *jsonpos.position(text, offset))

    def _ref_target(self, file: Path, pointer: jsonpos.Pointer, ref: Any) -> Path:
        """The file a ``$ref`` names: a regular file of ``schemas/``, else TemplateError
        at the ``$ref`` (a file elsewhere would be bundled into ``build/`` and published)."""
        if not isinstance(ref, str):
            raise TemplateError(self._at(file, pointer, "$ref"),
                                f"$ref must be a string (found {describe(ref)})",
                                'write "$ref": "defs/common.schema.json#/$defs/name"')
        part = ref.partition("#")[0]
        if not part:
            return file
        target = self._target(file, part)
        problem = self._problems.get(target)
        if problem is None:
            problem = self._problems[target] = self._target_problem(target)
        if problem:
            raise TemplateError(self._at(file, pointer, "$ref"), *problem)
        return target

    def _target_problem(self, target: Path) -> tuple[str, ...]:
        """Why ``target`` cannot be a $ref's file (message, hint), or () when it can; asked
        once per file, as hundreds of $refs name a handful of files."""
        real_root = self._files.real_root
        if os.path.commonpath([real_root, os.path.realpath(target)]) != real_root:
            return ("$ref leads outside schemas/", "shared schemas live in schemas/defs/")
        if target.exists() and not target.is_file():
            return (f"$ref names {_display(target, self.schemas_dir)}, which is not a file",
                    "name a .schema.json file")
        return ()

    def _deref(self, node: Any, file: Path, seen: tuple[str, ...],
               pointer: jsonpos.Pointer) -> Any:
        """``node`` (at ``pointer`` in ``file``) with every ``$ref`` inlined, recording
        where each dict it returns was written."""
        if isinstance(node, list):
            return [self._deref(n, file, seen, (*pointer, str(i))) for i, n in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            target_file = self._ref_target(file, pointer, ref)
            fragment = ref.partition("#")[2]
            key = f"{target_file}#{fragment}"
            if key in seen:
                raise TemplateError(self._at(file, pointer, "$ref"),
                                    f"recursive $ref {ref!r} is not supported")
            target = self._load(target_file)
            parts = tuple(p.replace("~1", "/").replace("~0", "~")
                          for p in fragment.split("/") if p)
            for part in parts:
                if not isinstance(target, dict) or part not in target:
                    raise TemplateError(self._at(file, pointer, "$ref"),
                                        f"$ref {ref!r} points nowhere")
                target = target[part]
            # No copy needed: _deref builds new dicts and lists all the way down, so
            # every use of a $ref gets nodes of its own (``used`` is keyed by id()).
            resolved = self._deref(target, target_file, (*seen, key), parts)
            if isinstance(resolved, dict):
                resolved.pop("$defs", None)
                resolved.pop("$id", None)
                resolved.pop("$schema", None)
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                # 2020-12 applies $ref *and* its siblings: required lists add up
                required = _merged_required(resolved.get("required", []),
                                            siblings.pop("required", []))
                merged = self._deref(siblings, file, seen, pointer)
                resolved.update(merged)
                if required:
                    resolved["required"] = required
                if len(node) > 1:  # siblings were written here, "required" included
                    self.origin[id(resolved)] = [*self.origin.pop(id(merged), []),
                                                 *self.origin.get(id(resolved), [])]
            return resolved
        out = {k: (self._deref(v, file, seen, (*pointer, k))
                   if k not in ("enum", "const", "examples") else v)
               for k, v in node.items()}
        self.origin[id(out)] = [(file, pointer)]
        return out

    def _target(self, file: Path, relative: str) -> Path:
        """The file a relative $ref names; memoised, as path arithmetic was a third of
        this stage's time (hundreds of $refs to a handful of files)."""
        key = (file, relative)
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = _normalise(file.parent / relative)
        return found

    def locate(self, node: dict[str, Any], prop: str,
               within: Sequence[str] = (KEY, PROPERTY, REQUIRED)) -> Location:
        """The file:line:column of ``prop`` in bundled ``node``, where it was written.

        ``within`` says what ``prop`` is, in order of preference: a key of the node
        (KEY), a key of its ``properties`` (PROPERTY), an entry of its ``required``
        list (REQUIRED). Each is looked for inside that node's own object in its own
        file, never by name elsewhere, so a name used in several places is found at
        the right one. Found nowhere: the file the node was defined in.
        """
        origins = self.origin.get(id(node)) or [(self.path, ())]
        for kind in within:
            for file, pointer in origins:
                text = self._texts.get(file, "")
                try:
                    if kind == REQUIRED:
                        offset = jsonpos.element(text, (*pointer, REQUIRED), prop)
                    else:
                        offset = jsonpos.member(
                            text, (*pointer, PROPERTY) if kind == PROPERTY else pointer, prop)
                except ValueError:
                    offset = None
                if offset is not None:
                    return Location(_display(file, self.schemas_dir),
                                    *jsonpos.position(text, offset))
        return Location(_display(origins[-1][0], self.schemas_dir))


def _unsupported_at(bundle: SchemaBundle, schema: dict[str, Any], message: str
                    ) -> tuple[Location, str]:
    """Where an unsupported part of a bundled schema was written, and the message for it.

    ``message`` is ``"#/json/pointer: what"``. The pointer leads through the bundle
    to the node, whose origin is the file it came from (a shared ``defs/`` file for
    most), so a problem there is reported once, at that file's line, not once per
    template schema that uses it.
    """
    pointer, sep, what = message.partition(": ")
    if not sep or not pointer.startswith("#"):
        return Location(bundle.display), message
    node: Any = schema
    for part in [p for p in pointer[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return Location(bundle.display), message
    if not isinstance(node, dict):
        return Location(bundle.display), message
    words = set(what.replace("(", " ").replace(",", " ").split())
    keyword = next((k for k in node if k in words), "")
    where = bundle.locate(node, keyword, (KEY,))
    return where, message if where.file == bundle.display else what


def _merged_required(own: Any, siblings: Any) -> Any:
    """A $ref's ``required`` plus its siblings' (2020-12 applies both); either one as it
    is when the other is not a list (check_schema then names the one that is wrong)."""
    if not isinstance(own, list) or not isinstance(siblings, list):
        return own if not isinstance(own, list) else siblings
    return [*own, *[r for r in siblings if r not in own]]


_MAX_DEPTH = 500


def _deep_at(text: str) -> int:
    """The offset where arrays and objects in ``text`` nest deeper than _MAX_DEPTH."""
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                return i
        elif ch in "]}":
            depth -= 1
    return 0


def _normalise(path: Path) -> Path:
    """Absolute and without ``..``; cheaper than resolve(), which stats every part."""
    import os

    return Path(os.path.normpath(os.path.abspath(path)))


def _display(path: Path, schemas_dir: Path) -> str:
    try:
        return str(_normalise(path).relative_to(_normalise(schemas_dir).parent))
    except ValueError:
        return str(path)


def _types(node: dict[str, Any] | None) -> set[str]:
    if node is None:
        return set()
    t = node.get("type")
    if t is None:
        if "properties" in node:
            return {"object"}
        if "items" in node:
            return {"array"}
        return set(SCALARS) | {"object", "array"}
    return {t} if isinstance(t, str) else set(t)


class _Scope:
    def __init__(self, node: dict[str, Any] | None, path: str) -> None:
        self.node = node  # None: a boolean or inverted section (no new names)
        self.path = path


def check_template(spliced: Spliced, tags: list[Placeholder], subject: Subject,
                   schemas_dir: Path, name: str, files: SchemaFiles | None = None
                   ) -> tuple[dict[str, Any], list[TemplateError], list[Path]]:
    """Bundle ``name``'s schema (``files``: the schema files this build has read) and
    check every placeholder against it.

    Also returns the schema files the bundle was read from: they are sources of the
    build (the bundled schema is one of its parts), so ``sourceHash`` covers them.
    """
    bundle = SchemaBundle(schemas_dir, name, files)
    schema = bundle.schema
    read = sorted(bundle.files)
    try:
        check_schema(schema, bundle.known_good)
    except ValueError as exc:
        where, detail = _unsupported_at(bundle, schema, str(exc))
        raise TemplateError(where, f"schema not supported: {detail}",
                            "see the authoring guide for the supported JSON Schema subset"
                            ) from None
    errors: list[TemplateError] = _closed_objects(bundle, schema, "$")
    for name in GLOBALS:
        if name in schema.get("properties", {}):
            errors.append(TemplateError(bundle.locate(schema, name, (PROPERTY,)),
                                        f"{name} is provided by the renderer; do not declare it"))
    used: set[int] = set()
    root = {"type": "object", "properties": {**GLOBALS, **schema.get("properties", {})}}
    scopes = [_Scope(root, "$")]

    def err(tag: Placeholder, message: str, hint: str = "") -> None:
        errors.append(TemplateError(spliced.locate(tag.offset), message, hint))

    for tag in tags:
        if tag.sigil == "!":
            continue
        if tag.sigil == "/":
            if len(scopes) > 1:
                scopes.pop()
            continue
        found = _resolve(scopes, tag.name)
        partial = _resolve_prefix(scopes, tag.name) if found is None else None
        if partial is not None:
            # customer is declared, customer.fristName is not: say so, suggest the sibling,
            # and count the suggestion as shown so that it is not reported again as unused
            parent, parent_path, missing, chain = partial
            props = parent.get("properties", {})
            close = difflib.get_close_matches(missing, list(props), n=1)
            parts = tag.name.split(".")
            fixed = ".".join([*parts[:len(chain)], *close[:1], *parts[len(chain) + 1:]])
            err(tag, f"{tag.raw} uses {tag.name!r}, but {parent_path} in {bundle.display} "
                f"has no property {missing!r}",
                f"did you mean {{{{{tag.sigil}{fixed}}}}}?" if close
                else f"add {missing!r} to {parent_path}, or fix the name")
            used.update(id(n) for n in chain)
            if close:
                used.add(id(props[close[0]]))
        elif found is None:
            err(tag, f"{tag.raw} uses {tag.name!r}, which {bundle.display} does not declare"
                f" {_where(scopes)}", _suggest(scopes, tag.name))
        if found is None:
            if tag.sigil in "#^":
                scopes.append(_Scope(None, scopes[-1].path))
            continue
        node, path, chain = found
        used.update(id(n) for n in chain)
        types = _types(node)
        if tag.sigil == "#":
            if not types & {"array", "object", "boolean"}:
                err(tag, f"section {tag.raw} is used on {path}, which the schema types as "
                    f"{'/'.join(sorted(types))}",
                    "sections repeat arrays, enter objects or test booleans; "
                    "use {{" + tag.name + "}} to print a value")
            if "array" in types:
                items = node.get("items") or {}
                used.add(id(items))
                scopes.append(_Scope(items, path + "[]"))
            elif "object" in types:
                scopes.append(_Scope(node, path))
            else:
                scopes.append(_Scope(None, path))
        elif tag.sigil == "^":
            scopes.append(_Scope(None, scopes[-1].path))
        else:
            if types & {"object", "array"} and not types & {"string", "number", "integer"}:
                err(tag, f"{tag.raw} prints {path}, which the schema types as "
                    f"{'/'.join(sorted(types))}", "print one of its fields instead")
            if tag.context.startswith("attr:") and tag.context[5:] in URL_ATTRS \
                    and not tag.prefix.strip() and node.get("format") != "uri":
                err(tag, f"{tag.raw} starts the {tag.context[5:]} URL but {path} is not "
                    "URL-typed", 'declare it {"type": "string", "format": "uri"} so that only '
                    "https URLs are accepted at render time")
    errors.extend(_unused_required(bundle, schema, used, spliced))
    del subject  # the subject's tags are part of ``tags`` (context "title")
    return schema, errors, read


def _closed_objects(bundle: SchemaBundle, node: dict[str, Any], path: str
                    ) -> list[TemplateError]:
    """Every object must say ``additionalProperties: false``: a typo in data is then an error."""
    errors = []
    if "object" in _types(node) and "properties" in node \
            and node.get("additionalProperties", True) is not False:
        first = next(iter(node["properties"]), "properties")
        errors.append(TemplateError(bundle.locate(node, first, (PROPERTY, KEY)),
                                    f"object {path} must set \"additionalProperties\": false",
                                    "so that misspelt fields in render data are reported"))
    for name, sub in node.get("properties", {}).items():
        if isinstance(sub, dict):
            errors += _closed_objects(bundle, sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        errors += _closed_objects(bundle, node["items"], f"{path}[]")
    return errors


def _resolve(scopes: list[_Scope], name: str
             ) -> tuple[dict[str, Any], str, list[dict[str, Any]]] | None:
    if name == ".":
        top = scopes[-1]
        return (top.node, top.path, []) if top.node is not None else None
    parts = name.split(".")
    for scope in reversed(scopes):
        node = scope.node
        if node is None:
            continue
        props = node.get("properties", {})
        if parts[0] not in props:
            continue
        current, path, chain = props[parts[0]], f"{scope.path}.{parts[0]}", [props[parts[0]]]
        for part in parts[1:]:
            sub = current.get("properties", {})
            if part not in sub:
                return None
            current, path = sub[part], f"{path}.{part}"
            chain.append(current)
        return current, path, chain
    return None


def _resolve_prefix(scopes: list[_Scope], name: str
                    ) -> tuple[dict[str, Any], str, str, list[dict[str, Any]]] | None:
    """For a dotted name whose head resolves but whose tail does not: the deepest object
    found, its path, the first missing part and the chain; None otherwise."""
    parts = name.split(".")
    if len(parts) < 2:
        return None
    for scope in reversed(scopes):
        props = (scope.node or {}).get("properties", {})
        if parts[0] not in props:
            continue
        current, path, chain = props[parts[0]], f"{scope.path}.{parts[0]}", [props[parts[0]]]
        for part in parts[1:]:
            sub = current.get("properties", {})
            if part not in sub:
                return current, path, part, chain
            current, path = sub[part], f"{path}.{part}"
            chain.append(current)
        return None
    return None


def _where(scopes: list[_Scope]) -> str:
    inner = scopes[-1].path
    return "at the top level" if inner == "$" else f"in scope {inner} or around it"


def _suggest(scopes: list[_Scope], name: str) -> str:
    names: list[str] = []
    for scope in scopes:
        if scope.node is not None:
            names.extend(scope.node.get("properties", {}))
    close = difflib.get_close_matches(name.split(".")[-1], names, n=1)
    if close:
        return f"did you mean {{{{{close[0]}}}}}?"
    return "add it to the schema, or fix the name"


def _unused_required(bundle: SchemaBundle, schema: dict[str, Any], used: set[int],
                     spliced: Spliced) -> list[TemplateError]:
    errors: list[TemplateError] = []
    template_file = spliced.files[0] if spliced.files else spliced.name

    def walk(node: dict[str, Any], path: str) -> None:
        if "array" in _types(node) and isinstance(node.get("items"), dict):
            walk(node["items"], path + "[]")
        props = node.get("properties", {})
        hidden = node.get("x-not-shown", [])
        hidden = hidden if isinstance(hidden, list) else []
        for prop in node.get("required", []):
            sub = props.get(prop, {})
            if sub.get("x-not-shown") is True or prop in hidden:
                continue
            if id(sub) not in used:
                errors.append(TemplateError(
                    bundle.locate(node, prop, (REQUIRED, PROPERTY)),
                    f"required property {path}.{prop} is never used by {template_file}",
                    'show it in the template, make it optional, or mark it "x-not-shown": true'))
        for prop, sub in props.items():
            if id(sub) in used and isinstance(sub, dict):
                walk(sub, f"{path}.{prop}")

    walk(schema, "$")
    return errors
