"""Disclosure is recorded before data leaves: the one path every export and report file takes.

1. Every final name is checked: a symbolic link is refused (even with `--force`), an
   existing file is refused unless `force`, and a folder given that is a link is refused.
2. The files are written under temporary names in a private staging folder inside their
   target folder (`audit.store.staging`), and flushed to the disk.
3. The disclosure event is committed (by the caller's `record`, inside its own
   transaction, after checking the permission again).
4. Only then are the files renamed into place, and each folder is flushed.

If the event cannot be committed (a locked database, a refused role, a full disk), the
temporary files are removed and nothing appears under a final name. A process killed at
any point leaves at most its staging folder (`.iom-audit-tmp-*`), removed by the next
command that writes into the same folder; a file under a final name always has its event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

from audit.errors import AuditError, UsageError
from audit.store.engine import Database
from audit.store.staging import (
    OutputFolder,
    Staging,
    clean_abandoned,
    create_staging,
    open_folder,
)

WriteFn = Callable[[Mapping[Path, Path]], None]  # path as given -> staged path to write
RecordFn = Callable[[sa.Connection, Sequence[Path]], None]  # conn, final paths


class NotRecorded(AuditError):
    """The disclosure event could not be committed, so no file was published."""


def existing(files: Sequence[Path]) -> list[Path]:
    """The files that exist already (for a face to ask before replacing them)."""
    return [Path(f) for f in files if Path(f).exists() or Path(f).is_symlink()]


@dataclass
class _Target:
    given: Path  # as the caller named it (the key of the staged mapping)
    final: Path  # absolute
    folder: OutputFolder
    name: str


class Disclosure:
    """Files to publish: checked when made, written and placed by `publish`.

    Use it as a context manager: `with Disclosure(files, force=...) as d: ... d.publish(...)`.
    Made before the data is read, so a refused name costs nothing.
    """

    def __init__(self, files: Sequence[Path], *, force: bool = False,
                 folders: Sequence[Path] = ()) -> None:
        self.force = force
        self._folders: dict[Path, OutputFolder] = {}
        self._staging: dict[Path, Staging] = {}
        self._targets: list[_Target] = []
        self.placed: list[Path] = []
        try:
            names = [Path(f) for f in files]
            if len({str(_abs(n)) for n in names}) != len(names):
                raise UsageError("two outputs have the same file name: choose different names")
            # A folder named by the person (--out DIR, --markdown DIR) must not be a link;
            # the folder part of a file's path is followed as typed (/tmp is a link on
            # macOS): only the file's own name could redirect a write, and it is checked.
            # Shallowest first, so a named folder is made before a file's folder inside it
            # is checked (`--out md/r.pdf --markdown md`).
            wanted = {_abs(f): True for f in folders}
            for path in names:
                wanted.setdefault(_abs(path.parent), False)
            for given, strict in sorted(wanted.items(), key=lambda item: len(item[0].parts)):
                self._folder(given, strict=strict)
            for path in names:
                folder = self._folder(path.parent, strict=False)
                target = _Target(path, folder.path / path.name, folder, path.name)
                folder.refuse_unsafe(target.name, force=force)
                self._targets.append(target)
        except BaseException:
            self.close()
            raise

    def _folder(self, path: Path, *, strict: bool) -> OutputFolder:
        key = _abs(path)
        if key not in self._folders:
            # Only a folder named as one is made; a file's missing folder is refused.
            self._folders[key] = open_folder(key if strict else key.resolve(), create=strict)
        return self._folders[key]

    @property
    def files(self) -> list[Path]:
        """The final paths, in the order given."""
        return [t.final for t in self._targets]

    def __enter__(self) -> Disclosure:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def publish(self, db: Database, write: WriteFn, record: RecordFn) -> list[Path]:
        """Write to staged names, commit `record`'s event, then rename into place."""
        for folder in self._folders.values():
            clean_abandoned(folder)  # what a killed run of this or another command left
        for key, folder in self._folders.items():
            if any(t.folder is folder for t in self._targets):
                self._staging[key] = create_staging(folder)
        staged = {t.given: self._stage(t).path(t.name) for t in self._targets}
        try:
            write(staged)
            for t in self._targets:
                self._stage(t).sync(t.name)
        except OSError as exc:
            raise UsageError(f"could not write the files ({exc.strerror or exc}); nothing "
                             "was published") from None
        for t in self._targets:  # once more, right before the event and the renames
            t.folder.refuse_unsafe(t.name, force=self.force)
        try:
            with db.write() as conn:
                record(conn, self.files)
        except AuditError:
            raise
        except (sa.exc.DBAPIError, OSError) as exc:
            busy = "locked" in str(exc).lower() or "busy" in str(exc).lower()
            why = ("the database is busy: another program is writing to it" if busy
                   else "the database refused the write")
            raise NotRecorded(f"the disclosure could not be recorded ({why}); no file was "
                              "written - try again") from None
        for t in self._targets:
            self.placed.append(self._stage(t).place(t.name, force=self.force))
        for folder in self._folders.values():
            folder.fsync()
        return list(self.placed)

    def _stage(self, target: _Target) -> Staging:
        return next(self._staging[k] for k, f in self._folders.items() if f is target.folder)

    def close(self) -> None:
        """Remove staging folders, and folders made here that stayed empty."""
        for staging in self._staging.values():
            staging.discard()
        self._staging.clear()
        for folder in reversed(self._folders.values()):  # deepest first
            if not any(p.parent == folder.path for p in self.placed):
                folder.remove_if_created_and_empty()
            folder.close()
        self._folders.clear()


def _abs(path: Path) -> Path:
    import os

    return Path(os.path.abspath(path))


def write_text(path: Path, text: str, *, force: bool = False) -> Path:
    """Write one text file the way disclosures are placed, for outputs the trail does not
    record as a disclosure (the JSON of `compare` and `history`, a purge's snapshot).

    Staged, flushed and renamed into place; a name that is a symbolic link is refused
    even with `force`, and an existing file is refused unless `force`.
    """
    final = _abs(Path(path))
    folder = open_folder(final.parent.resolve(), create=False)
    name = final.name
    try:
        folder.refuse_unsafe(name, force=force)
        clean_abandoned(folder)
        staging = create_staging(folder)
        try:
            # A full disk or another OSError reaches the faces, which say it in words
            # (audit.store.errors), naming the file as given, not its staged name.
            try:
                staging.path(name).write_text(text, encoding="utf-8")
                staging.sync(name)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(final)) from None
            folder.refuse_unsafe(name, force=force)  # once more, right before the rename
            placed = staging.place(name, force=force)
            folder.fsync()
        finally:
            staging.discard()
    except BaseException:
        folder.remove_if_created_and_empty()
        raise
    finally:
        folder.close()
    return placed
