"""``python -m dialogsum_peft`` (also under ``accelerate launch -m`` and ``torchrun -m``)."""

import sys

from .cli import main

sys.exit(main())
