(dark) => {
  const problems = [];
  const de = document.documentElement;
  if (de.scrollWidth > window.innerWidth)
    problems.push(`horizontal overflow: content is ${de.scrollWidth}px wide in a ${window.innerWidth}px viewport`);
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0)
      problems.push(`image did not load: ${img.getAttribute('src')}`);
  }
  const text = document.body.innerText;
  const unsub = [...document.querySelectorAll('a')].find(a => /unsubscribe/i.test(a.textContent));
  if (!unsub) problems.push('no unsubscribe link');
  else {
    const r = unsub.getBoundingClientRect();
    const style = getComputedStyle(unsub);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden' || style.display === 'none')
      problems.push('unsubscribe link is not visible');
  }
  if (!/South Africa/.test(text)) problems.push('company address is not visible');
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
    }
    return dark ? 'rgb(0, 0, 0)' : 'rgb(255, 255, 255)';
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || style.display === 'none' || style.opacity === '0')
      continue;  // hidden preheader and the like
    if (style.color === bg(el))
      problems.push(`text colour equals its background (${style.color}): "${node.textContent.trim().slice(0, 40)}"`);
  }
  return problems;
}
