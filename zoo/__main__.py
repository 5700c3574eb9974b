"""`python -m zoo` runs the `zoo` command line."""

from zoo.cli.main import main

raise SystemExit(main())
