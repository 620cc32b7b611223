"""Console entry point: the `iom-audit` command, whose bare form opens the app."""

from __future__ import annotations

import gc
import os
import sys

# Statistics run on two cores beside the app and the database: BLAS thread pools that
# each take every core make the regressions ten times slower under load, not faster.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from audit.views.background import COLLECT_AFTER  # noqa: E402
from cli.app import run  # noqa: E402  (after the thread settings, before numpy loads)
from cli.state import CliState  # noqa: E402


def launch(state: CliState) -> None:
    """Open the terminal app on the database the CLI was given."""
    from tui.app import run_app  # textual is imported only when the app is wanted

    run_app(state.db)


def main() -> None:
    """Run the CLI (with the app behind `iom-audit` and `iom-audit tui`)."""
    # Young objects collected after 10,000 allocations, not 700, as in the app: a report
    # allocates millions (tables, flowables, Word XML) and spent 0.3-0.4 s of its 4.5 s of
    # CPU in some thousand collections (medians of 3, the 100,000-case demo).
    gc.set_threshold(*COLLECT_AFTER)
    code = run(launch_tui=launch)
    # The process ends here, so its objects need no more cycle collection: the collections
    # of the interpreter's exit would walk every object the libraries made (pandas, scipy,
    # statsmodels: some 200,000), 0.2-0.3 s after a comparison. Frozen, they are skipped.
    # The database is closed by now (`CliState.close`), and what reference counting frees
    # at exit (files among them) is still freed.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # `python -m cli.main ...`, as tests and benchmarks run it
    main()
