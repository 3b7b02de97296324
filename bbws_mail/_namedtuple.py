"""``typing.NamedTuple``'s class syntax without importing ``typing`` at run time.

``typing`` (with ``contextlib`` and ``warnings`` behind it) is ~4 ms of a Lambda cold
start, measured, and the runtime needs nothing from it but this class syntax. Type
checkers see ``typing.NamedTuple`` itself (every checker treats a name
``TYPE_CHECKING`` as true); at run time the same class body becomes a
``collections.namedtuple`` with the body's methods and docstring, as ``typing`` makes it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from collections import namedtuple

    _OWN = frozenset({"__annotations__", "__module__", "__qualname__", "__dict__",
                      "__weakref__", "__orig_bases__"})

    class _Meta(type):
        def __new__(mcls, name, bases, namespace):
            if not bases:  # NamedTuple itself
                return super().__new__(mcls, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", {}))
            defaults = [namespace[f] for f in fields if f in namespace]
            if any(f not in namespace for f in fields[len(fields) - len(defaults):]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            cls = namedtuple(name, fields, defaults=defaults or None,
                             module=namespace.get("__module__"))
            cls.__qualname__ = namespace.get("__qualname__", name)
            for key, value in namespace.items():
                if key not in _OWN and key not in fields:
                    setattr(cls, key, value)
            return cls

    class NamedTuple(metaclass=_Meta):
        """Base for record classes: ``class Point(NamedTuple): x: int; y: int = 0``."""
