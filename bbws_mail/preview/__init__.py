"""Designer preview (issue #7): live server, static export and test sends.

``bbws-mail preview`` builds every template from ``templates_src/`` in memory,
serves an index and one page per template (desktop and mobile frames, dark mode,
subject, preheader, plain-text part, HTML size against Gmail's clip, check
results, a data editor) and re-renders open pages over server-sent events when a
source, schema or data file is saved. ``bbws-mail send`` and the page's button
send a rendered template as a real email. Stdlib only (the ``preview`` extra's
aiosmtpd is for a local mail catcher and the tests).
"""

from __future__ import annotations

from bbws_mail.preview.export import export
from bbws_mail.preview.send import SendSettings, send_email
from bbws_mail.preview.server import PreviewServer
from bbws_mail.preview.workspace import Preview, Workspace

__all__ = ["Preview", "PreviewServer", "SendSettings", "Workspace", "export", "send_email"]
