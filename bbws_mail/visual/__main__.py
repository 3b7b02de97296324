"""``python -m bbws_mail.visual [--update]``: what ``nox -s visual`` runs."""

import sys

from bbws_mail.visual.runner import main

sys.exit(main())
