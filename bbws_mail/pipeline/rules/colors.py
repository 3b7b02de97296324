"""CSS colour names, in one place: the MJML value check and the contrast check share them.

The names and their values come from ``webcolors`` (the CSS3 table, 147 names)
plus ``rebeccapurple``, the one name CSS Color 4 added; keeping a hand-written
copy is how ``lightgray`` once passed the contrast gate while ``#d3d3d3`` failed.
"""

from __future__ import annotations

from functools import lru_cache

# keywords that are valid colours but not names of a fixed value
KEYWORDS = frozenset({"transparent", "currentcolor", "inherit"})


@lru_cache(maxsize=1)
def named_colors() -> dict[str, str]:
    """CSS colour name -> ``#rrggbb`` (148 names, CSS Color 4)."""
    import webcolors

    table = {name: webcolors.name_to_hex(name, spec=webcolors.CSS3)
             for name in webcolors.names(webcolors.CSS3)}
    table["rebeccapurple"] = "#663399"
    return table


def is_color_keyword(value: str) -> bool:
    """A CSS colour name or keyword (case-insensitive), as MJML's colour type accepts."""
    v = value.strip().lower()
    return v in KEYWORDS or v in named_colors()
