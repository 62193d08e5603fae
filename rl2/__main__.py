"""`python -m rl2` is the `rl2` command (and what torchrun launches)."""

import sys

from rl2.cli import main

sys.exit(main())
