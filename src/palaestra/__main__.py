"""``python -m palaestra`` runs the command line."""

import sys

from palaestra.cli import main

sys.exit(main())
