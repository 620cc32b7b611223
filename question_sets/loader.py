"""Find question sets on the search path and load them.

The search path is: directories passed by the caller, then those in the environment
variable ``IOM_AUDIT_QUESTION_SETS`` (``os.pathsep``-separated), then the sets shipped
in this package. Two files with the same id and version must have the same content:
otherwise loading that set fails, because answers recorded under a version must
always mean the same questions.
"""

import os
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from question_sets.model import QuestionSet
from question_sets.problems import Problem, QuestionSetError, UnknownSetError
from question_sets.validate import check_file

ENV_VAR = "IOM_AUDIT_QUESTION_SETS"
PACKAGE_DIR = Path(__file__).resolve().parent

Dirs = Iterable[str | os.PathLike[str]]


def search_path(extra_dirs: Dirs = ()) -> tuple[Path, ...]:
    """The directories searched for ``*.yaml`` question sets, in order."""
    dirs = [Path(d) for d in extra_dirs]
    dirs += [Path(d) for d in os.environ.get(ENV_VAR, "").split(os.pathsep) if d.strip()]
    dirs.append(PACKAGE_DIR)
    seen: list[Path] = []
    for d in dirs:
        d = d.expanduser().resolve()
        if d not in seen:
            seen.append(d)
    return tuple(seen)


def version_key(version: str) -> tuple[int, ...]:
    """Sort key for '1.10' > '1.9'."""
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def _header(path: Path) -> tuple[str, str] | None:
    """A file's (id, version), or None when it cannot be read that far."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str) \
            and isinstance(data.get("version"), str):
        return data["id"], data["version"]
    return None


class _Catalog:
    """The sets in a fixed list of files; each file is checked at most once."""

    def __init__(self, files: tuple[Path, ...]) -> None:
        self.files = files
        self.headers = {f: _header(f) for f in files}
        self._results: dict[Path, tuple[QuestionSet | None, list[Problem]]] = {}
        self._loading: list[str] = []
        # One load at a time: the catalog is shared by every thread of the process (the
        # app's workers, its background preload), and `_loading`, the include chain that
        # finds cycles, is one load's. Re-entrant: a set's includes load within its load.
        self._lock = threading.RLock()

    def paths(self, set_id: str, version: str | None = None) -> list[Path]:
        return [f for f, h in self.headers.items()
                if h is not None and h[0] == set_id and (version is None or h[1] == version)]

    def check(self, path: Path) -> tuple[QuestionSet | None, list[Problem]]:
        with self._lock:
            if path not in self._results:
                self._results[path] = check_file(path, self.load)
            return self._results[path]

    def load(self, set_id: str, version: str | None = None) -> QuestionSet:
        """The set with this id (highest version unless one is given)."""
        with self._lock:
            return self._load(set_id, version)

    def _load(self, set_id: str, version: str | None) -> QuestionSet:
        paths = self.paths(set_id, version)
        if not paths:
            known = sorted({h[1] for h in self.headers.values() if h and h[0] == set_id},
                           key=version_key)
            if known and version is not None:
                raise UnknownSetError(f"no version {version} of question set '{set_id}' "
                                      f"(known: {', '.join(known)})")
            raise UnknownSetError(f"no question set '{set_id}'{self._unreadable_note()}")
        if version is None:
            version = max((h[1] for p in paths if (h := self.headers[p]) is not None),
                          key=version_key)
            paths = self.paths(set_id, version)
        key = f"{set_id}@{version}"
        if key in self._loading:
            raise QuestionSetError(f"include cycle: {' -> '.join([*self._loading, key])}")
        self._loading.append(key)
        try:
            results = [(p, *self.check(p)) for p in paths]
        finally:
            self._loading.pop()
        for p, qs, problems in results:
            if qs is None:
                raise QuestionSetError(
                    f"question set {key} in {p} has {len(problems)} problem(s): {problems[0]}",
                    problems)
        sets = [(p, qs) for p, qs, _ in results if qs is not None]
        clash = _clash(sets)
        if clash:
            raise QuestionSetError(clash)
        return sets[0][1]

    def _unreadable_note(self) -> str:
        unreadable = [str(f) for f, h in self.headers.items() if h is None]
        if not unreadable:
            return ""
        return f" (could not read the id and version of {', '.join(unreadable)}: validate it)"

    def conflict(self, qs: QuestionSet, path: Path) -> str | None:
        """Why ``qs`` (read from ``path``) clashes with a known set of its id and version."""
        others = [p for p in self.paths(qs.id, qs.version) if p != path.resolve()]
        for other in others:
            known, _ = self.check(other)
            if known is not None and known.digest != qs.digest:
                return (f"question set {qs.id} version {qs.version} is already known with "
                        f"different content ({other}); give this file a new version")
        return None

    def all(self) -> list[QuestionSet]:
        for f, h in self.headers.items():
            if h is None:
                problems = self.check(f)[1] or [Problem(str(f), 1, 1, "no id and version")]
                raise QuestionSetError(f"{f} is not a valid question set: {problems[0]}",
                                       problems)
        keys = sorted({h for h in self.headers.values() if h is not None},
                      key=lambda h: (h[0], version_key(h[1])))
        return [self.load(set_id, version) for set_id, version in keys]


def _clash(sets: list[tuple[Path, QuestionSet]]) -> str | None:
    first_path, first = sets[0]
    for path, qs in sets[1:]:
        if qs.digest != first.digest:
            return (f"question set {first.id} version {first.version} has different content "
                    f"in {first_path} and {path}; give the changed one a new version")
    return None


def _files(dirs: tuple[Path, ...]) -> tuple[Path, ...]:
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p.resolve() for p in d.iterdir()
                            if p.suffix in (".yaml", ".yml") and p.is_file())
    return tuple(files)


def _catalog(extra_dirs: Dirs) -> _Catalog:
    files = _files(search_path(extra_dirs))
    # The stamp makes an edited file (or a new one) invalidate the cached catalog.
    stamp = tuple((f, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _cached_catalog(stamp)


@lru_cache(maxsize=8)
def _cached_catalog(stamp: tuple[tuple[Path, int, int], ...]) -> _Catalog:
    return _Catalog(tuple(f for f, _, _ in stamp))


def load_set(set_id: str, version: str | None = None, extra_dirs: Dirs = ()) -> QuestionSet:
    """Load a set by id (the highest version unless ``version`` is given).

    Raises :class:`UnknownSetError` when there is none, :class:`QuestionSetError` when
    it has problems or two files give the same id and version different content.
    """
    return _catalog(extra_dirs).load(set_id, version)


def list_sets(extra_dirs: Dirs = ()) -> list[QuestionSet]:
    """Every set on the search path, by id then version (raises if one does not load)."""
    return _catalog(extra_dirs).all()


def validate_file(path: str | os.PathLike[str], extra_dirs: Dirs = ()) -> list[Problem]:
    """Every problem in one file, each located at its line and column (empty when valid)."""
    catalog = _catalog(extra_dirs)
    return check_file(Path(path), catalog.load, catalog.conflict)[1]


def load_file(path: str | os.PathLike[str], extra_dirs: Dirs = ()) -> QuestionSet:
    """Load one file (its includes come from the search path); raise if it has problems."""
    catalog = _catalog(extra_dirs)
    qs, problems = check_file(Path(path), catalog.load, catalog.conflict)
    if qs is None:
        raise QuestionSetError(f"{len(problems)} problem(s): {problems[0]}", problems)
    return qs
