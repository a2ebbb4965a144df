"""``python -m benchmarks.humaneval``: see :mod:`benchmarks.humaneval.run`."""

from benchmarks.humaneval.run import main

raise SystemExit(main())
