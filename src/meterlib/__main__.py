"""``python -m meterlib`` runs the command line."""

import sys

from meterlib.cli import main

sys.exit(main())
