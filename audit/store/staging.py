"""Files that appear under their final names only when they are complete.

An output folder is opened once, without following a symbolic link, and every step
after that goes through that open folder (POSIX `*at` calls), so swapping the folder
for a link half-way does not redirect anything. Files are written in a private staging
folder inside it, `.iom-audit-tmp-<random>` (mode 0700, created with `mkdir`, which
never follows a link), held with an exclusive `flock` while in use. They reach their
final names by `link` (which refuses an existing name, so nothing is overwritten
without `--force`) or, with `--force`, by `os.replace` (which replaces a name, never the
file a link points to); a final name that is a symbolic link is refused either way.

A process killed half-way leaves only its staging folder, never a file under a final
name. Its lock died with it, so the next command writing in that folder removes it;
a staging folder whose lock is held belongs to a process still running and is left
alone. Where `flock` does not exist (Windows), staging folders older than a day count
as abandoned.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from audit.errors import UsageError

TEMP_PREFIX = ".iom-audit-tmp-"
ABANDONED_AFTER_S = 24 * 3600  # only where flock is missing

_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Pinned folders need open() on a directory and the *at calls; without them (Windows)
# the same steps run on paths, checked with lstat just before each one.
PINNED = bool(_DIRECTORY and _NOFOLLOW) and os.rename in os.supports_dir_fd \
    and os.link in os.supports_dir_fd and os.stat in os.supports_dir_fd
_PROC_FD = Path("/proc/self/fd")


def _flock(fd: int, *, wait: bool) -> bool:
    """Take an exclusive flock on `fd`; False when another holder has it (and not waiting)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _has_flock() -> bool:
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows
        return False
    return True


class OutputFolder:
    """A folder files are published into, opened once (not through a symbolic link)."""

    def __init__(self, path: Path, fd: int | None, created: bool) -> None:
        self.path = path
        self.fd = fd
        self.created = created  # made by this command (removed again if nothing lands)

    def lstat(self, name: str) -> os.stat_result | None:
        """The entry `name` in this folder, not following a link (None when missing)."""
        try:
            if self.fd is not None:
                return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            return os.lstat(self.path / name)
        except FileNotFoundError:
            return None

    def refuse_unsafe(self, name: str, *, force: bool) -> None:
        """Refuse a final name that is a link or not a file, or exists without `force`."""
        found = self.lstat(name)
        target = self.path / name
        if found is None:
            return
        if stat.S_ISLNK(found.st_mode):
            raise UsageError(f"{target} is a symbolic link: refused (links are never "
                             "followed); remove it or choose another name")
        if not stat.S_ISREG(found.st_mode):
            raise UsageError(f"{target} exists and is not a file: choose another name")
        if not force:
            raise UsageError(f"{target} exists: choose another name or add --force")

    def fsync(self) -> None:
        """Make the names placed in this folder durable."""
        if self.fd is not None:
            os.fsync(self.fd)
        else:  # pragma: no cover - Windows: directories cannot be opened
            pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def remove_if_created_and_empty(self) -> None:
        """Take back a folder this command made, when nothing was published into it."""
        if self.created:
            with suppress(OSError):
                os.rmdir(self.path)


def open_folder(path: Path, *, create: bool = True) -> OutputFolder:
    """Open an output folder; a symbolic link is refused, and only its last level is made.

    With `create` (a folder the person named as one, `export --out DIR`) only the last
    level is made; without it (the folder part of a file's path) a missing folder is
    refused: `report --out /nonexistent/r.pdf` must not create folders at the root of
    the disk because of a typing mistake.
    """
    path = Path(os.path.abspath(path))  # not resolve(): that would follow links
    created = False
    found = _lstat(path)
    if found is None:
        if not create:
            raise UsageError(f"the folder {path} does not exist: create it first, or "
                             "check the path")
        if _lstat(path.parent) is None or not path.parent.is_dir():
            raise UsageError(f"{path.parent} does not exist: create the folder first")
        try:
            os.mkdir(path)
            created = True
        except FileExistsError:
            pass  # made meanwhile by someone else: checked below like any folder
        found = _lstat(path)
    if found is not None and stat.S_ISLNK(found.st_mode):
        raise UsageError(f"{path} is a symbolic link: refused (links are never followed); "
                         "give the real folder")
    if found is None or not stat.S_ISDIR(found.st_mode):
        raise UsageError(f"{path} is not a folder")
    if not PINNED:  # pragma: no cover - Windows
        return OutputFolder(path, None, created)
    try:
        fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link meanwhile
            raise UsageError(f"{path} is a symbolic link: refused (links are never "
                             "followed); give the real folder") from None
        raise UsageError(f"{path} cannot be opened: {exc.strerror}") from None
    return OutputFolder(path, fd, created)


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


class Staging:
    """A private, locked staging folder inside an output folder."""

    def __init__(self, folder: OutputFolder, name: str, fd: int | None) -> None:
        self.folder = folder
        self.name = name
        self.fd = fd

    @property
    def location(self) -> Path:
        """Where writers put files: pinned through the open folder where /proc allows."""
        if self.fd is not None and _PROC_FD.is_dir():
            return _PROC_FD / str(self.fd)
        return self.folder.path / self.name

    def path(self, name: str) -> Path:
        """The staged (temporary) path of final file `name`."""
        return self.location / name

    def sync(self, name: str) -> None:
        """Flush a staged file to the disk before it gets its final name."""
        flags = os.O_RDONLY | _NOFOLLOW
        if self.fd is not None:
            fd = os.open(name, flags, dir_fd=self.fd)
        else:  # pragma: no cover - Windows
            fd = os.open(self.folder.path / self.name / name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def place(self, name: str, *, force: bool) -> Path:
        """Give staged file `name` its final name in the folder (checked once more)."""
        folder = self.folder
        folder.refuse_unsafe(name, force=force)
        if self.fd is not None and folder.fd is not None:
            if not force:
                try:
                    # link() refuses an existing name, even one made since the check
                    os.link(name, name, src_dir_fd=self.fd, dst_dir_fd=folder.fd,
                            follow_symlinks=False)
                    return folder.path / name
                except FileExistsError:
                    folder.refuse_unsafe(name, force=False)
                    raise
                except OSError as exc:
                    if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP,
                                         errno.EXDEV, errno.EMLINK):
                        raise
                    # a file system without hard links (FAT, some shares): checked above
            os.replace(name, name, src_dir_fd=self.fd, dst_dir_fd=folder.fd)
        else:  # pragma: no cover - Windows
            os.replace(folder.path / self.name / name, folder.path / name)
        return folder.path / name

    def discard(self) -> None:
        """Remove the staging folder and whatever is still in it; release its lock."""
        with suppress(FileNotFoundError):
            if self.folder.fd is not None:
                shutil.rmtree(self.name, dir_fd=self.folder.fd)
            else:  # pragma: no cover - Windows
                shutil.rmtree(self.folder.path / self.name)
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
            self.fd = None


def create_staging(folder: OutputFolder) -> Staging:
    """A new staging folder in `folder`, created with mkdir (0700) and locked."""
    for _ in range(20):
        name = f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        if folder.fd is None:  # pragma: no cover - Windows
            os.mkdir(folder.path / name, 0o700)
            return Staging(folder, name, None)
        try:
            os.mkdir(name, 0o700, dir_fd=folder.fd)
        except FileExistsError:
            continue
        fd = _open_dir(name, folder.fd)
        if fd is None:
            continue  # removed at once by a cleaner that found it not yet locked
        _flock(fd, wait=True)
        # A cleaner may have removed it between mkdir and the lock: check it is still there.
        now = folder.lstat(name)
        if now is not None and os.path.samestat(os.fstat(fd), now):
            return Staging(folder, name, fd)
        os.close(fd)
    raise UsageError(f"cannot create a temporary folder in {folder.path}")


def _open_dir(name: str, dir_fd: int) -> int | None:
    try:
        return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=dir_fd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        raise


def clean_abandoned(folder: OutputFolder) -> list[str]:
    """Remove staging folders left by killed processes in `folder`; their names."""
    removed: list[str] = []
    if folder.fd is None:  # pragma: no cover - Windows
        entries = [(e.name, e) for e in os.scandir(folder.path)]
    else:
        entries = [(e.name, e) for e in os.scandir(folder.fd)]
    for name, entry in entries:
        if not name.startswith(TEMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        if folder.fd is None or not _has_flock():  # pragma: no cover - Windows
            if time.time() - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER_S:
                shutil.rmtree(folder.path / name, ignore_errors=True)
                removed.append(name)
            continue
        fd = _open_dir(name, folder.fd)
        if fd is None:
            continue
        try:
            if not _flock(fd, wait=False):
                continue  # a running process holds it
            shutil.rmtree(name, dir_fd=folder.fd, ignore_errors=True)
            removed.append(name)
        finally:
            os.close(fd)
    return removed


@contextmanager
def exclusive(lock_path: Path, *, wait_s: float, busy: str) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (created 0600 next to what it guards).

    Waits up to `wait_s` seconds for another holder, then raises UsageError(`busy`).
    The file stays (removing it would let a third process lock a new file while the
    second still holds the old one); the lock itself dies with its process.
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise UsageError(busy)
            time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    """One attempt at an exclusive lock on an open file."""
    if sys.platform == "win32":  # pragma: no cover - msvcrt locks the first byte
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    return _flock(fd, wait=False)
