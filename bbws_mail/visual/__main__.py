import sys

from bbws_mail.visual.runner import main

sys.exit(main())
