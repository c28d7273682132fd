"""``python -m dialogsum_peft`` (also under ``accelerate launch -m`` and ``torchrun -m``)."""

import sys

from .command_line.cli import main

sys.exit(main())
