"""bbws-mail: the BBWS portal's transactional emails.

The runtime face for Lambdas: ``render(name, data)`` returns a validated,
escaped :class:`RenderedEmail`. Importing this package loads only the light
runtime (chevron's tokenizer, the standard library); build, publish and visual
tools live in subpackages with their own optional extras.
"""

from bbws_mail.errors import (
    BBWSMailError,
    BuildError,
    DataProblem,
    MessageError,
    SourceError,
    TemplateDataError,
    TemplateError,
    UnknownTemplateError,
)
from bbws_mail.render import RenderedEmail, render, template_names

__all__ = [
    "BBWSMailError",
    "BuildError",
    "DataProblem",
    "MessageError",
    "RenderedEmail",
    "SourceError",
    "TemplateDataError",
    "TemplateError",
    "UnknownTemplateError",
    "__version__",
    "render",
    "template_names",
]
__version__ = "0.1.0"
