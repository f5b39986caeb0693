"""`python -m matfuse predict ...`: the `matfuse` console script without installing it."""

from matfuse.predict import main

raise SystemExit(main())
