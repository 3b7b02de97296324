"""What a shot shows, as data: texts, colours, boxes, images and links, in page order.

Pixels alone cannot tell a browser update from a real change: another Chromium
build may move anti-aliasing by a few pixels, and a price that changes from
``R2,990.00`` to ``R2,990.07`` moves only ~170. So every baseline PNG has a content
snapshot beside it, taken from the laid-out page. Where the environment differs
from the baseline's, the pixels get a small budget but the content must match
(boxes within one CSS pixel, everything else exactly): a browser update keeps the
text, colours and geometry, a wrong price or colour does not.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

# Entry kinds and the names of their fields (the box, [x, y, width, height] in CSS
# pixels of the page, is always last and is compared with a tolerance).
FIELDS = {
    "text": ("text", "colour", "font family", "font size", "font weight", "font style",
             "decoration"),
    "box": ("element", "background", "background image", "border"),
    "img": ("src", "alt"),
    "link": ("href",),
}
BOX_TOLERANCE = 1  # CSS px: rounding of a sub-pixel layout shift between browser builds

CONTENT_JS = r"""() => {
  const out = [];
  const box = (r) => [Math.round(r.left + scrollX), Math.round(r.top + scrollY),
                      Math.round(r.width), Math.round(r.height)];
  const visible = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const painted = (c) => c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c);
  const walker = document.createTreeWalker(
    document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.currentNode; node; node = walker.nextNode()) {
    if (node.nodeType === 3) {
      const text = node.textContent.replace(/\s+/g, ' ').trim();
      const el = node.parentElement;
      if (!text || !el || !visible(el)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const r = range.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const s = getComputedStyle(el);
      out.push(['text', text, s.color, s.fontFamily, s.fontSize, s.fontWeight, s.fontStyle,
                s.textDecorationLine, box(r)]);
      continue;
    }
    const el = node;
    if (el === document.body || !visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const s = getComputedStyle(el);
    const tag = el.tagName.toLowerCase();
    if (tag === 'img') out.push(['img', el.getAttribute('src') || '', el.alt || '', box(r)]);
    if (tag === 'a' && el.hasAttribute('href')) out.push(['link', el.getAttribute('href'), box(r)]);
    const borders = ['Top', 'Right', 'Bottom', 'Left']
      .filter(side => parseFloat(s[`border${side}Width`]) > 0
                      && s[`border${side}Style`] !== 'none' && painted(s[`border${side}Color`]))
      .map(side => `${side.toLowerCase()} ${s[`border${side}Width`]} `
                   + `${s[`border${side}Style`]} ${s[`border${side}Color`]}`).join(', ');
    const bg = painted(s.backgroundColor) ? s.backgroundColor : '';
    const image = s.backgroundImage !== 'none' ? s.backgroundImage : '';
    if (bg || image || borders) out.push(['box', tag, bg, image, borders, box(r)]);
  }
  return out;
}"""

Entry = list[Any]


def snapshot(page: Any) -> list[Entry]:
    """The content of the page as laid out now (see the module docstring)."""
    entries: list[Entry] = page.evaluate(CONTENT_JS)
    return entries


def dumps(entries: list[Entry]) -> str:
    """The baseline file's text: one entry a line, so a change reads well in a git diff."""
    lines = ",\n".join(json.dumps(e, ensure_ascii=False) for e in entries)
    return f"[\n{lines}\n]\n" if entries else "[]\n"


def loads(text: str) -> list[Entry]:
    """Read a baseline file; ValueError when it is not a list of entries."""
    entries = json.loads(text)
    if not isinstance(entries, list) or not all(
            isinstance(e, list) and e and e[0] in FIELDS and len(e) == len(FIELDS[e[0]]) + 2
            for e in entries):
        raise ValueError("not a list of content entries")
    return entries


def _label(entry: Entry) -> str:
    kind, first = entry[0], entry[1]
    short = first if len(first) <= 60 else first[:57] + "..."
    return {"text": f'text "{short}"', "box": f"<{short}> box", "img": f"image {short}",
            "link": f"link {short}"}[kind]


def _where(entry: Entry) -> str:
    x, y, w, h = entry[-1]
    return f"at {x},{y} ({w}x{h})"


def _changed_fields(old: Entry, new: Entry) -> list[str]:
    names = FIELDS[old[0]]
    return [f"{name} {old[i + 1]!r} -> {new[i + 1]!r}"
            for i, name in enumerate(names) if old[i + 1] != new[i + 1]]


def _moved(old: Entry, new: Entry) -> bool:
    return any(abs(a - b) > BOX_TOLERANCE for a, b in zip(old[-1], new[-1], strict=True))


def differences(old: list[Entry], new: list[Entry], *, most: int = 3) -> list[str]:
    """How ``new`` differs from the baseline ``old``, in words (empty when it matches).

    Entries are matched in page order on everything but their box; matched entries
    must also sit within ``BOX_TOLERANCE`` of where they were.
    """
    out: list[str] = []

    def key(e: Entry) -> str:
        return json.dumps(e[:-1], ensure_ascii=False)

    matcher = difflib.SequenceMatcher(None, [key(e) for e in old], [key(e) for e in new],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [f"{_label(a)} moved from {_where(a)[3:]} to {_where(b)[3:]}"
                    for a, b in zip(old[i1:i2], new[j1:j2], strict=True) if _moved(a, b)]
            continue
        pairs = list(zip(old[i1:i2], new[j1:j2], strict=False))
        for a, b in pairs:
            if a[0] == b[0]:
                out.append(f"{_label(a)} {_where(a)}: " + "; ".join(_changed_fields(a, b)))
            else:
                out.append(f"{_label(a)} {_where(a)} became {_label(b)}")
        out += [f"{_label(a)} {_where(a)} is gone" for a in old[i1 + len(pairs):i2]]
        out += [f"new {_label(b)} {_where(b)}" for b in new[j1 + len(pairs):j2]]
    if len(out) > most:
        out = [*out[:most], f"and {len(out) - most} more content difference(s)"]
    return out
