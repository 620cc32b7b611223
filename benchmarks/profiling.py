"""Profile a missed target with pyinstrument and summarise where the time goes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from benchmarks.figures import Figure
from benchmarks.measure import python, run

TREE_LINES = 45


def profile(figure: Figure, env: Mapping[str, str], folder: Path) -> Path:
    """Run the figure's command under pyinstrument; return the session file.

    A figure with `session` set runs its command with `--profile-dir` instead (the
    command profiles only its measured phases) and the phase's file is returned. Open a
    session with `pyinstrument --load FILE -r html`.
    """
    assert figure.profile is not None
    folder.mkdir(parents=True, exist_ok=True)
    if figure.prepare is not None:
        figure.prepare()
    if figure.session is not None:
        phases = folder / figure.key
        run([python(), *figure.profile, "--profile-dir", str(phases)], env=env,
            label=f"profile {figure.key}")
        return phases
    session_file = folder / f"{figure.key}.pyisession"
    run([python(), "-m", "pyinstrument", "-r", "session", "-o", str(session_file),
         *figure.profile], env=env, label=f"profile {figure.key}")
    return session_file


def summarise(session_file: Path) -> str:
    """The heaviest functions by own time, then the call tree trimmed to big branches."""
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    session = Session.load(str(session_file))
    flat = ConsoleRenderer(flat=True, time="percent_of_total", unicode=False,
                           color=False).render(session)
    tree = ConsoleRenderer(unicode=False, color=False,
                           processor_options={"filter_threshold": 0.03}).render(session)
    duration = f"{session.duration:.2f} s sampled, {session.cpu_time:.2f} s CPU"
    top = _body(flat)[:20]
    lines = _body(tree)[:TREE_LINES]
    return (f"{duration}. Own time, heaviest first:\n" + "\n".join(top)
            + "\n\nCall tree (branches over 3%):\n" + "\n".join(lines))


def _body(text: str) -> list[str]:
    """The rendered lines without pyinstrument's banner and program line."""
    lines = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines)
                  if line.startswith(("Program:", "Profile at"))), 2)
    return lines[start + 1:]
