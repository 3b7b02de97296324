"""The package's layers, bottom to top: the one statement of what may import what.

A module imports only from its own layer or lower ones, at module level or inside a
function, and no two files import each other (directly or round a longer loop);
``tests/test_layers.py`` walks every import of the package and holds it to this table.

- **runtime**: what a Lambda imports to render and send (the standard library and
  chevron; boto3 only on the S3 and SES paths). ``pipeline.package`` zips exactly these.
- **config**: ``bbws-mail.toml`` read and validated into typed settings.
- **pipeline**: the build (``[build]`` extra): its stages, and the rule registry,
  findings and checkers that the build and ``check`` run.
- **tools**: the commands on top of a build: ``check``, publish, preview, visual and
  the CLI.

An entry ending in ``.*`` is a package and every module under it.
"""

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("runtime", ("bbws_mail", "bbws_mail._jsonload", "bbws_mail._namedtuple",
                 "bbws_mail.buildlayout", "bbws_mail.datatypes", "bbws_mail.display",
                 "bbws_mail.errors", "bbws_mail.formatting", "bbws_mail.headers",
                 "bbws_mail.layers", "bbws_mail.layout", "bbws_mail.mustache", "bbws_mail.names",
                 "bbws_mail.precompiled", "bbws_mail.render", "bbws_mail.s3source",
                 "bbws_mail.send", "bbws_mail.sources", "bbws_mail.sqs",
                 "bbws_mail.validate")),
    ("config", ("bbws_mail.config",)),
    ("pipeline", ("bbws_mail.pipeline.*",)),
    ("tools", ("bbws_mail.check.*", "bbws_mail.publish.*", "bbws_mail.preview.*",
               "bbws_mail.visual.*", "bbws_mail.cli")),
)


def layer_of(module: str) -> int:
    """The index in LAYERS of ``module`` (a dotted name); ValueError when it has none."""
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            package = member.removesuffix(".*")
            if module == package or (member.endswith(".*") and module.startswith(package + ".")):
                return index
    raise ValueError(f"{module} is in no layer of bbws_mail.layers.LAYERS")
