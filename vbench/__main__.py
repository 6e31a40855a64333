"""`python -m vbench ...` (and `torchrun ... -m vbench run ...`): the same as the `vbench` command."""

import sys

from vbench.cli import main

sys.exit(main())
