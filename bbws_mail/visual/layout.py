"""Layout assertions that need no baseline, and naming the element a diff falls on.

Baselines catch change; these catch wrongness that a freshly approved baseline
would bless: columns that do not stack on a phone (horizontal overflow), a broken
image, a footer without the legally required address or unsubscribe link, and
dark-mode rules that leave text the colour of its background.
"""

from __future__ import annotations

from typing import Any

CHECKS_JS = r"""([dark, address]) => {
  const problems = [];
  const de = document.documentElement;
  const width = Math.max(de.scrollWidth, document.body.scrollWidth);
  if (width > window.innerWidth)
    problems.push(`horizontal overflow: content is ${width}px wide in a `
      + `${window.innerWidth}px viewport`);
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0)
      problems.push(`image did not load: ${img.getAttribute('src')}`);
  }
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= 0 || r.left >= width) return false;
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') return false;
    }
    return true;
  };
  const unsub = [...document.querySelectorAll('a')].find(a => /unsubscribe/i.test(a.textContent));
  if (!unsub) problems.push('footer: no unsubscribe link');
  else if (!shown(unsub)) problems.push('footer: unsubscribe link is not visible');
  const holders = [...document.querySelectorAll('body *')].filter(
    e => [...e.childNodes].some(n => n.nodeType === 3
                                     && n.textContent.replace(/\s+/g, ' ').includes(address)));
  if (!address) problems.push('footer: no postal address in bbws-mail.toml [company]');
  else if (!holders.length) problems.push('footer: no postal address');
  else if (!holders.some(shown)) problems.push('footer: postal address is not visible');
  const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return dark ? [18, 18, 18] : [255, 255, 255];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (!shown(el)) continue;  // the hidden preheader and the like
    const fg = rgb(getComputedStyle(el).color).slice(0, 3), bg = background(el);
    if (contrast(fg, bg) < 1.1)
      problems.push(`text colour equals its background (rgb(${fg}) on rgb(${bg})): `
        + `"${node.textContent.trim().slice(0, 40)}"`);
  }
  return problems;
}"""

# The innermost element holding the region, and the texts drawn inside it.
REGION_JS = r"""([x0, y0, x1, y1]) => {
  const sx = window.scrollX, sy = window.scrollY;
  let best = document.body, bestArea = Infinity;
  const texts = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    const [l, t, rt, b] = [r.left + sx, r.top + sy, r.right + sx, r.bottom + sy];
    if (l <= x0 && t <= y0 && rt >= x1 && b >= y1 && r.width * r.height < bestArea) {
      best = el; bestArea = r.width * r.height;
    }
    // the whole text of the block that holds text here, inline elements included
    // ("Order <strong>BB-1</strong> was placed" reads as one excerpt, not "Order was placed")
    if (getComputedStyle(el).display === 'inline') continue;
    const holdsText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const whole = holdsText ? el.innerText.replace(/\s+/g, ' ').trim() : '';
    if (whole && l < x1 && x0 < rt && t < y1 && y0 < b && texts.length < 3)
      texts.push(whole);
  }
  const cls = String(best.className || '').trim();
  const tag = best.tagName.toLowerCase() + (cls ? '.' + cls.split(/\s+/).join('.') : '');
  return {element: tag, texts};
}"""


def layout_problems(page: Any, *, dark: bool, address: str) -> list[str]:
    """Problems with the page as laid out now (empty when fine); ``address`` is the postal
    address the footer must show (``[company] address`` of bbws-mail.toml)."""
    problems: list[str] = page.evaluate(CHECKS_JS, [dark, address])
    return problems


def describe_region(page: Any, box: tuple[float, float, float, float]) -> str:
    """Name what the page shows in ``box`` (CSS pixels, page coordinates) for the report."""
    found: dict[str, Any] = page.evaluate(REGION_JS, list(box))
    texts = "; ".join(f'"{t}"' for t in found["texts"])
    return f"inside <{found['element']}>" + (f", text there: {texts}" if texts else "")


def fonts_used(page: Any) -> dict[str, int]:
    """Font family -> glyphs drawn with it, as Chromium reports (CDP, ~0.1 s a page).

    Installed fonts say what *could* be used; this says what *was*: a stack naming
    Helvetica resolves through fontconfig to Liberation Sans here, and a character
    missing from it would fall back to whatever else is installed.
    """
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        used: dict[str, int] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            children = node.get("children", [])
            if node.get("nodeType") == 1 and any(
                    c.get("nodeType") == 3 and c.get("nodeValue", "").strip() for c in children):
                found = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
                for font in found["fonts"]:
                    used[font["familyName"]] = used.get(font["familyName"], 0) + font["glyphCount"]
            stack.extend(children)
        return used
    finally:
        cdp.detach()
