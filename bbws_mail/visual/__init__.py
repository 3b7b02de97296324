"""Visual regression for the emails (needs the ``[visual]`` extra and a Chromium).

Python Playwright has no ``toHaveScreenshot``; this package is its email-tuned
equivalent: deterministic shots (pinned fonts, flags, blocked network), strict
byte/pixel comparison against baselines in git, an HTML diff report, and layout
assertions that need no baseline at all.
"""
