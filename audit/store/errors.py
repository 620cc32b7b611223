"""Database and disk failures in words: one line, no SQL, no parameters, no class names.

`describe` turns what SQLite, SQLCipher, PostgreSQL or the operating system raised into
a sentence a person can act on (a busy database, a full disk, a missing privilege, a
wrong key, a server that does not answer); `message` does the same for any exception a
face is about to show. `speak_plainly` makes an engine raise such sentences itself (the
app uses it, so every screen's `except AuditError` shows them): the exception raised is
still the SQLAlchemy error it replaces, so code that retries on `IntegrityError` keeps
working, and an `AuditError` whose text is the sentence.
"""

from __future__ import annotations

import errno
import re
from typing import Any

import sqlalchemy as sa

from audit.errors import AuditError

BUSY_SECONDS = 10  # the SQLite busy timeout (audit/store/engine.py), in the busy message


class DatabaseError(AuditError):
    """A database that cannot be opened, migrated or used, with a one-line reason."""


class StoreFailure(DatabaseError):
    """Base of the plain-worded copies of SQLAlchemy errors (see `speak_plainly`)."""

    words = ""

    def __str__(self) -> str:
        return self.words


NOT_CHANGED = "nothing was changed"
BUSY = (f"the database is busy: another program (the app, an import or a backup) kept it "
        f"locked for more than {BUSY_SECONDS} seconds; {NOT_CHANGED}, try again when it has "
        "finished")
DISK_FULL = "the disk is full: free some space and try again"
RACE = ("someone else saved the same {what} at the same moment; " + NOT_CHANGED
        + ": look again and retry")
VERBS = {"select": "read", "insert": "add to", "update": "change", "delete": "delete from",
         "truncate": "empty"}
_DENIED = re.compile(r"permission denied for (table|relation|schema|sequence|function|"
                     r"database|view) \"?([\w.]+)\"?", re.IGNORECASE)
_UNIQUE_SQLITE = re.compile(r"UNIQUE constraint failed: ([\w.]+)")
_SERVER_GONE = ("connection refused", "could not connect", "connection timed out",
                "timeout expired", "server closed the connection", "no route to host",
                "could not translate host name", "name or service not known",
                "connection to server", "terminating connection", "server has gone away",
                "the connection is closed", "connection is lost", "ssl syscall error")


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of `text`, cut to `limit` characters."""
    line = next((s.strip() for s in str(text).splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _sqlstate(orig: Any) -> str:
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def _statement_verb(statement: str | None) -> str:
    word = (statement or "").lstrip(" (\n").split(None, 1)[0].lower() if statement else ""
    return VERBS.get(word, "use")


def privilege(text: str, statement: str | None = None) -> str:
    """A missing privilege ("permission denied for table x") in words."""
    found = _DENIED.search(text)
    what, name = (found.group(1).lower(), found.group(2)) if found else ("table", "")
    if what == "relation":
        what = "table"
    verb = _statement_verb(statement) if what == "table" else "use"
    if what == "table" and name == "audit_event" and verb in ("change", "delete from",
                                                               "empty"):
        return ("the audit trail cannot be changed or deleted (permission denied by "
                "design); " + NOT_CHANGED)
    target = f"the {what} {name}".rstrip()
    return (f"your database login may not {verb} {target} (permission denied; ask the "
            f"database owner to grant it, as docs/security.md shows); {NOT_CHANGED}")


def wrong_key(keyed: bool) -> str:
    """What "file is not a database" means, with and without IOM_AUDIT_DB_KEY set."""
    if keyed:
        return ("the key in IOM_AUDIT_DB_KEY does not open it (a wrong key, or the file is "
                "not a database)")
    return "file is not a database (encrypted? set IOM_AUDIT_DB_KEY to its key)"


def _sqlite_words(text: str, keyed: bool) -> str | None:
    low = text.lower()
    if "database is locked" in low or "database table is locked" in low or "busy" in low:
        return BUSY
    if "database or disk is full" in low or "no space left" in low:
        return f"{DISK_FULL}; {NOT_CHANGED}"
    if "disk i/o error" in low:
        return "the disk could not be read or written (an I/O error): check it and try again"
    if "readonly database" in low or "read-only" in low:
        return "the database file is read-only for you: check its permissions and its folder's"
    if "unable to open database file" in low:
        return "the database file cannot be opened: does its folder exist, may you write to it?"
    if "not a database" in low or "file is encrypted" in low:
        return wrong_key(keyed)
    if "no such table" in low:
        return f"the database has no {first_line(text).split(':', 1)[-1].strip()} table: " \
               "is it an iom-audit database?"
    unique = _UNIQUE_SQLITE.search(text)
    if unique:
        return RACE.format(what=unique.group(1).split(".")[0])
    return None


def _postgres_words(orig: Any, text: str, statement: str | None) -> str | None:
    state = _sqlstate(orig)
    low = text.lower()
    diag = getattr(orig, "diag", None)
    if state == "42501" or "permission denied" in low:
        return privilege(text, statement)
    if state == "23505" or "duplicate key value" in low:
        table = getattr(diag, "table_name", None) if diag is not None else None
        return RACE.format(what=table or "row")
    if state in ("40001", "40P01"):
        return f"another session changed the same data at the same moment; {NOT_CHANGED}: " \
               "try again"
    if state in ("55P03", "57014") or "lock timeout" in low:
        return BUSY
    if state.startswith("53") or "no space left" in low or "could not extend file" in low:
        return f"{DISK_FULL} (on the database server); {NOT_CHANGED}"
    if state in ("28P01", "28000") or "password authentication failed" in low \
            or "no pg_hba.conf entry" in low:
        return "the database server refused the login (a wrong user name or password?)"
    if state == "3D000" or ("database" in low and "does not exist" in low):
        return "the database named in the URL does not exist on the server"
    if state.startswith("08") or any(s in low for s in _SERVER_GONE):
        return "the database server does not answer (is it running, and is the address right?)"
    return None


def describe(exc: BaseException, *, keyed: bool | None = None) -> str | None:
    """One line in words for a database or disk failure; None for anything else.

    `keyed` says whether a SQLCipher key was given (default: whether IOM_AUDIT_DB_KEY is
    set), which decides what "file is not a database" means.
    """
    if keyed is None:
        from audit.store.encryption import db_key

        keyed = db_key() is not None
    if isinstance(exc, StoreFailure | DatabaseError):
        return str(exc)
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free
        return BUSY
    if isinstance(exc, sa.exc.ArgumentError | sa.exc.NoSuchModuleError):
        return ("the database location cannot be read: give a file path, or a URL such as "
                "postgresql+psycopg://user@host/dbname")
    orig: BaseException | None
    statement: str | None
    if isinstance(exc, sa.exc.DBAPIError):
        orig, statement = exc.orig, exc.statement
    elif isinstance(exc, sa.exc.SQLAlchemyError):
        return ("the database could not complete the operation; " + NOT_CHANGED
                + " (run with --debug for details)")
    else:
        orig, statement = exc, None
    if isinstance(orig, OSError) and not _is_dbapi(orig):  # a file or the disk, not SQL
        return os_words(orig)
    if isinstance(orig, MemoryError):
        return "not enough memory to finish; " + NOT_CHANGED
    if orig is None or not _is_dbapi(orig):
        return None
    text = str(orig)
    module = type(orig).__module__
    if module.startswith(("sqlite3", "sqlcipher3", "pysqlite")):
        said = _sqlite_words(text, keyed)
    else:
        said = _postgres_words(orig, text, statement)
    if said is None:
        # Something the database refused for a reason of its own (a trigger, a check):
        # its first line names that reason, without the statement or its parameters.
        said = f"the database refused the operation: {first_line(text)}"
    return said


def _is_dbapi(exc: BaseException) -> bool:
    """Whether `exc` is a DB-API error (sqlite3, sqlcipher3, psycopg)."""
    return any(c.__name__ in ("Error", "DatabaseError") and c.__module__.split(".")[0] in
               ("sqlite3", "sqlcipher3", "psycopg", "psycopg2", "pysqlite2")
               for c in type(exc).__mro__)


def os_words(exc: OSError) -> str:
    """A failure of the operating system (a file, a folder, the disk) in words."""
    where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        writing = f" (writing {exc.filename})" if getattr(exc, "filename", None) else ""
        return DISK_FULL.replace(":", f"{writing}:", 1)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{where}"
    if exc.errno == errno.EROFS:
        return f"the file system is read-only{where}"
    if exc.errno == errno.ENOENT:
        return f"no such file or folder{where}"
    reason = exc.strerror or first_line(str(exc)) or "an operating-system error"
    return f"{reason[0].lower()}{reason[1:]}{where}"


def message(exc: BaseException) -> str:
    """What a face shows for any failure: one line, no SQL, parameters or class names."""
    said = describe(exc)
    if said is None:
        if isinstance(exc, AuditError):
            said = str(exc)
        else:
            detail = first_line(str(exc))
            said = ("an unexpected problem stopped this" + (f" ({detail})" if detail else "")
                    + "; run with --debug for details")
    return " ".join(line.strip() for line in said.splitlines() if line.strip())


_PLAIN: dict[type[sa.exc.DBAPIError], type[sa.exc.DBAPIError]] = {}


def plain(error: sa.exc.DBAPIError, words: str) -> sa.exc.DBAPIError:
    """`error` re-classed to also be a StoreFailure whose text is `words`.

    The copy is still an instance of the SQLAlchemy class it came from (a retry on
    IntegrityError still catches it), and an AuditError for the faces."""
    base = type(error)
    cls = _PLAIN.get(base)
    if cls is None:
        # A class per SQLAlchemy class, made once: StoreFailure first, so its __str__ wins.
        cls = type(f"Plain{base.__name__}", (StoreFailure, base), {"__module__": __name__})
        _PLAIN[base] = cls
    error.__class__ = cls
    error.words = words  # type: ignore[attr-defined]
    return error


def speak_plainly(engine: sa.Engine) -> None:
    """Make every database error of `engine` an AuditError with a one-line reason."""

    def reword(context: Any) -> BaseException | None:
        error = context.sqlalchemy_exception
        if not isinstance(error, sa.exc.DBAPIError) or isinstance(error, StoreFailure):
            return None
        return plain(error, describe(error) or message(error))

    sa.event.listen(engine, "handle_error", reword)
