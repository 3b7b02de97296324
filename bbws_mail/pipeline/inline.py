"""CSS inlining with css-inline (replacing premailer: docs/benchmarks.md#choices-measured).

Options chosen from measured failures: style blocks are kept and *not* inlined, so
MJML's ``@media`` column rules and the dark-mode block reach the clients that read
them; only the ``<mj-style inline="inline">`` CSS lifted by the compile stage is
inlined, which is exactly what the official MJML compiler does. Remote stylesheets
are never fetched: builds must work offline and stay deterministic.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=64)
def _inliner(extra_css: str) -> Any:
    import css_inline

    return css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        keep_link_tags=True,
        load_remote_stylesheets=False,
        extra_css=extra_css or None,
    )


def inline_css(html: str, css: str) -> str:
    """Return ``html`` with ``css`` applied as inline ``style`` attributes."""
    # Always run, even without CSS: the output is then serialised by an HTML5
    # parser, so what we ship is exactly what a client's parser will see.
    return str(_inliner(css).inline(html))
