"""``python -m service``: the same as the ``gyre`` console script."""

from service.cli import main

raise SystemExit(main())
