"""``python -m palaestra`` runs the command line."""

import sys

from palaestra.cli.main import main

sys.exit(main())
