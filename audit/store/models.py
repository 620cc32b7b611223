"""The domain model: inspections, sites, inspectors, cases, answers and the audit trail.

Every coded column stores the stable code of `question_sets.profile` (what researchers
see in exports); labels are looked up there for display. Every profile field may be
unknown (NULL). CHECK constraints keep codes valid in the database itself, so a script
writing SQL directly cannot store a code that no export or table would understand.
"""

# No `from __future__ import annotations` here: SQLModel resolves field types at runtime.
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from question_sets.profile import CASE_STATUS, PROFILE

INSPECTION_KINDS = {"thematic": "Thematic inspection", "core": "Core programme"}
ROLES = {"inspector": "Inspector", "lead": "Lead inspector", "researcher": "Researcher"}
RATERS = {"primary": "Primary rating", "qa": "Quality assurance (blind second rating)",
          "moderated": "Moderated (agreed) rating"}


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware (stored as UTC everywhere)."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones and returns naive values; the trail must never be
    ambiguous, so naive input is refused and naive output is marked as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None,
                             dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table a `table=True` model is mapped to, for SQL that bypasses the ORM.

    SQLModel's metaclass sets `Model.__table__`, but its stubs do not declare it; the
    mapper's local table is the same object, reached through typed SQLAlchemy API.
    """
    mapper: Mapper[Any] = sa.inspect(model)
    table = mapper.local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


def _in(column: str, codes: Iterable[str]) -> str:
    values = ", ".join(f"'{c}'" for c in codes)
    return f"{column} IS NULL OR {column} IN ({values})"


def _checks(table: str, columns: dict[str, Iterable[str]]) -> tuple[sa.CheckConstraint, ...]:
    return tuple(sa.CheckConstraint(_in(c, codes), name=f"ck_{table}_{c}")
                 for c, codes in columns.items())


class Inspection(SQLModel, table=True):
    """One inspection: a thematic fieldwork sample or a year of the core programme."""

    __tablename__ = "inspection"
    __table_args__ = _checks("inspection", {"kind": INSPECTION_KINDS})

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=120,
                      description="Unique name, used by --inspection on the command line")
    kind: str = Field(default="thematic", max_length=20,
                      description="thematic (fieldwork sample) or core (core programme)")
    question_set_id: str = Field(max_length=80, description="Question set the cases are rated on")
    question_set_version: str = Field(max_length=40, description="Version of that question set")
    question_set_digest: str | None = Field(
        default=None, max_length=64,
        description="Content digest of the set when the inspection was created: a set with "
                    "the same id and version but other content is refused")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                 description="When the inspection was created (UTC)")


class Site(SQLModel, table=True):
    """An IOM scheme or area visited by an inspection (Annex 2 of seed 002)."""

    __tablename__ = "site"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "name", name="uq_site_name"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True,
                               description="The inspection the site belongs to")
    name: str = Field(max_length=120, description="Scheme or area name, e.g. 'Sheffield'")
    nps_division: str | None = Field(default=None, max_length=120,
                                     description="National Probation Service division")
    crc: str | None = Field(default=None, max_length=120,
                           description="Community Rehabilitation Company")
    police_force: str | None = Field(default=None, max_length=120, description="Police force")


class Inspector(SQLModel, table=True):
    """A person who rates cases, leads an inspection or exports data."""

    __tablename__ = "inspector"
    __table_args__ = _checks("inspector", {"role": ROLES})

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=120, description="Full name")
    initials: str | None = Field(default=None, max_length=10, description="Initials")
    role: str = Field(default="inspector", max_length=20,
                      description="inspector (rates cases), lead (QA, lock, reports, purge) "
                                  "or researcher (export only)")


# The mapper's version counter needs the Column object itself, so it is built here.
_CASE_VERSION = sa.Column("version", sa.Integer, nullable=False, default=1)

_CODED = {f.code: f.codes for f in PROFILE.values() if f.kind == "code"}


class Case(SQLModel, table=True):
    """One offender case file in an inspection's sample, with its profile.

    `version` is an optimistic-concurrency counter: every change to the case (its profile,
    its status or any of its answers) increments it, and a writer that read an older
    version gets a conflict instead of overwriting silently.
    """

    __tablename__ = "case"
    __table_args__ = (
        sa.UniqueConstraint("inspection_id", "case_ref", name="uq_case_ref"),
        sa.Index("ix_case_inspection_status", "inspection_id", "status"),
        *_checks("case", {"status": CASE_STATUS, **_CODED}),
    )
    # SQLModel has no optimistic locking of its own: SQLAlchemy's version counter makes
    # every ORM flush of a case check and increment `version` (a stale write raises).
    __mapper_args__ = {"version_id_col": _CASE_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True,
                               description="The inspection whose sample holds the case")
    case_ref: str = Field(max_length=60, description="Case reference, unique in its inspection")
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True,
                                description="Site (IOM scheme) of the case")
    status: str = Field(default="not_started", max_length=20,
                        description="not_started, in_progress, complete, qa_checked, moderated "
                                    "or locked (moves: audit/lifecycle.py)")
    version: int = Field(default=1, sa_column=_CASE_VERSION)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                 description="Last change to the case or its answers (UTC)")

    # The profile (seed 002, Annex 2 and Figures 2.2, 4.1-4.8). NULL means unknown.
    iom: bool | None = Field(default=None, index=True,
                             description=PROFILE["iom"].description)
    provider: str | None = Field(default=None, max_length=20,
                                 description=PROFILE["provider"].description)
    case_type: str | None = Field(default=None, max_length=20,
                                  description=PROFILE["case_type"].description)
    rosh: str | None = Field(default=None, max_length=20, description=PROFILE["rosh"].description)
    likelihood: str | None = Field(default=None, max_length=20,
                                   description=PROFILE["likelihood"].description)
    mappa_level: str | None = Field(default=None, max_length=10,
                                    description=PROFILE["mappa_level"].description)
    domestic_abuse: bool | None = Field(default=None,
                                        description=PROFILE["domestic_abuse"].description)
    child_safeguarding: bool | None = Field(
        default=None, description=PROFILE["child_safeguarding"].description)
    index_offence: str | None = Field(default=None, max_length=30,
                                      description=PROFILE["index_offence"].description)
    prev_convictions: str | None = Field(default=None, max_length=10,
                                         description=PROFILE["prev_convictions"].description)
    age_band: str | None = Field(default=None, max_length=10,
                                 description=PROFILE["age_band"].description)
    gender: str | None = Field(default=None, max_length=10,
                               description=PROFILE["gender"].description)
    ethnicity: str | None = Field(default=None, max_length=20,
                                  description=PROFILE["ethnicity"].description)
    start_date: date | None = Field(default=None, description=PROFILE["start_date"].description)
    ro_interviewed: bool | None = Field(default=None,
                                        description=PROFILE["ro_interviewed"].description)

    # Allocation (migration 0008): who rates the case, and by when. Not part of the profile:
    # never exported as a variable, never counted.
    allocated_to: int | None = Field(default=None, foreign_key="inspector.id", index=True,
                                     description="The inspector the case is allocated to")
    due_date: date | None = Field(default=None,
                                  description="When the primary rating is due, if set")


class Answer(SQLModel, table=True):
    """One rater's answer to one question of one case."""

    __tablename__ = "answer"
    __table_args__ = (
        # The unique index also serves look-ups by case (its first column). The one other
        # index covers the aggregate counts (audit/tally.py): read in its order, answers
        # are counted per question and value without sorting them. Each index slows the
        # bulk import of millions of answers, so add none without measuring both.
        sa.UniqueConstraint("case_id", "question_id", "rater", name="uq_answer"),
        sa.Index("ix_answer_tally", "rater", "question_id", "value", "case_id"),
        *_checks("answer", {"rater": RATERS}),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", description="The case answered")
    question_id: str = Field(max_length=80, description="Stable question id, e.g. '2.1.1'")
    question_set_version: str = Field(max_length=40,
                                      description="Question-set version the answer was given under")
    value: str | None = Field(default=None, max_length=200,
                              description="The answer code: yes, no, na, or a choice code")
    note: str | None = Field(default=None, description="The inspector's note (free text)")
    inspector_id: int | None = Field(default=None, foreign_key="inspector.id",
                                     description="Who gave the answer")
    rater: str = Field(default="primary", max_length=12,
                       description="primary, qa (blind second rating) or moderated")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                 description="When the answer was last changed (UTC)")


class HiddenAnswer(SQLModel, table=True):
    """An answer (and its note) whose question stopped applying, kept out of sight.

    A rule that stops holding moves the answer here instead of deleting it; when the
    question applies again it moves back (`audit/workflow.py`). Nothing here is counted,
    listed, exported or reported: every read model reads `answer` only.
    """

    __tablename__ = "hidden_answer"
    __table_args__ = (*_checks("hidden_answer", {"rater": RATERS}),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True, description="The case answered")
    question_id: str = Field(max_length=80, description="Stable question id")
    question_set_version: str = Field(max_length=40,
                                      description="Question-set version the answer was given under")
    value: str | None = Field(default=None, max_length=200, description="The answer code")
    note: str | None = Field(default=None, description="The inspector's note (free text)")
    inspector_id: int | None = Field(default=None, foreign_key="inspector.id",
                                     description="Who gave the answer")
    rater: str = Field(default="primary", max_length=12,
                       description="primary, qa (blind second rating) or moderated")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                 description="When the answer was last changed (UTC)")
    hidden_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                description="When a rule hid it (UTC)")


class LastChange(SQLModel, table=True):
    """The last answer or note change of each case, so its author can undo it (`u`).

    `case_version` is the case's version right after the change: once anything else
    changes the case, the versions differ and the change can no longer be undone.
    """

    __tablename__ = "last_change"
    __table_args__ = (*_checks("last_change", {"rater": RATERS}),
                      sa.CheckConstraint("kind IN ('answer', 'note')", name="ck_last_change_kind"))

    case_id: int = Field(foreign_key="case.id", primary_key=True, description="The case")
    case_version: int = Field(description="The case's version right after the change")
    inspector_id: int = Field(foreign_key="inspector.id", description="Who made the change")
    rater: str = Field(max_length=12, description="primary, qa or moderated")
    question_id: str = Field(max_length=80, description="The question changed")
    kind: str = Field(max_length=10, description="answer or note")
    old: str | None = Field(default=None, description="The value or note before the change")
    new: str | None = Field(default=None, description="The value or note after the change")


class AuditEvent(SQLModel, table=True):
    """Append-only trail of every change (and every disclosure by export).

    The database refuses UPDATE, DELETE, TRUNCATE and REPLACE on this table (triggers on
    both backends; grants too on PostgreSQL), so the trail cannot be rewritten through
    the application. Each event is also a link of a hash chain (`audit/store/chain.py`):
    written without `seq` and `hash`, it is sealed before its transaction commits, and
    `iom-audit verify` recomputes the chain.
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True,
                         description="When (UTC)")
    who: str = Field(max_length=120, description="The inspector or database login responsible")
    entity: str = Field(max_length=30,
                        description="case, answer, inspection, site, export, purge ...")
    case_id: int | None = Field(default=None, index=True,
                                description="The case concerned, for fast history look-ups")
    key: str = Field(max_length=200,
                     description="What changed: 'case_ref', 'case_ref/question/rater' ...")
    field: str | None = Field(default=None, max_length=80, description="Field or question id")
    old_value: str | None = Field(default=None, description="Value before (NULL when created)")
    new_value: str | None = Field(default=None, description="Value after (NULL when deleted)")
    seq: int | None = Field(default=None, unique=True, index=True,
                            description="Position in the hash chain (NULL until sealed)")
    hash: str | None = Field(default=None, max_length=64,
                             description="sha256 (hex) of the previous event's hash and this "
                                         "event (NULL until sealed)")
    value_digest: str | None = Field(
        default=None, max_length=64,
        description="Digest of the old and new values, kept when a purge redacts them")


class TrailKey(SQLModel, table=True):
    """The random secret an inspection's trail values are digested with.

    A purge deletes it: the digests it leaves in the trail cannot then be reversed by
    trying every possible answer.
    """

    __tablename__ = "trail_key"

    inspection_id: int = Field(foreign_key="inspection.id", primary_key=True,
                               description="The inspection")
    secret: str = Field(max_length=64, description="64 random hex digits")


class NoteDraft(SQLModel, table=True):
    """A note still being typed, saved every few seconds so a crash never loses it.

    The note itself lives on `Answer`; a draft is offered back when the case is next
    opened and is deleted once the note is saved.
    """

    __tablename__ = "note_draft"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "question_id", "rater", "inspector_id", name="uq_draft"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True, description="The case")
    question_id: str = Field(max_length=80, description="The question the note belongs to")
    rater: str = Field(default="primary", max_length=12, description="The rater role")
    inspector_id: int | None = Field(default=None, foreign_key="inspector.id",
                                     description="Who is typing")
    text: str = Field(default="", description="The text typed so far")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                 description="When the draft was last saved (UTC)")


class QuestionSetRecord(SQLModel, table=True):
    """A question set version this database has seen, with its content digest.

    A set whose id and version are known here but whose content differs is refused:
    answers record the version they were given under, so a version must never change.
    """

    __tablename__ = "question_set"
    __table_args__ = (sa.UniqueConstraint("set_id", "version", name="uq_question_set"),)

    id: int | None = Field(default=None, primary_key=True)
    set_id: str = Field(max_length=80, description="Question-set id")
    version: str = Field(max_length=40, description="Question-set version")
    digest: str = Field(max_length=64, description="sha256 of the set's canonical content")
    title: str = Field(default="", max_length=200, description="Title of the set")
    registered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                    description="When the database first saw it (UTC)")



class PseudonymKey(SQLModel, table=True):
    """The secret that keys the pseudonyms of exported case references (one row).

    Made by migration 0006 (32 random bytes) and held by the lead: on PostgreSQL the
    application's role may not read it, and exports get pseudonyms through a SECURITY
    DEFINER function (audit/pseudonyms.py). Never shown, never named in an output.
    """

    __tablename__ = "pseudonym_key"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="ck_pseudonym_key_single"),
        sa.CheckConstraint("length(key) >= 32", name="ck_pseudonym_key_length"),
    )

    id: int = Field(default=1, primary_key=True)
    key: bytes = Field(sa_type=sa.LargeBinary, description="32 random bytes (HMAC-SHA256 key)")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                 description="When the key was made (UTC)")


QUERY_STATUSES = {"open": "Open", "answered": "Answered", "closed": "Closed"}
QUERY_ACTIONS = {"open": "Opened", "respond": "Responded", "change": "Changed the answer",
                 "close": "Closed", "reopen": "Re-opened"}


class Query(SQLModel, table=True):
    """A data query on one answer of one case (REDCap's data resolution workflow).

    QA or a lead opens it with a comment; the assignee (the inspector who gave the answer)
    responds or changes the answer with a reason; QA closes or re-opens it. An open or
    answered query blocks locking the case (`audit/queries.py`). Its thread is in
    `query_message`, and every step is also an event of the audit trail.
    """

    __tablename__ = "query"
    __table_args__ = (
        sa.Index("ix_query_case_status", "case_id", "status"),
        *_checks("query", {"status": QUERY_STATUSES, "rater": RATERS}),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", description="The case queried")
    question_id: str = Field(max_length=80, description="The question whose answer is queried")
    rater: str = Field(default="primary", max_length=12,
                       description="Whose answer is queried: primary, qa or moderated")
    status: str = Field(default="open", max_length=12,
                        description="open (awaiting the assignee), answered (awaiting QA) "
                                    "or closed")
    opened_by: int = Field(foreign_key="inspector.id", description="Who opened the query")
    assignee_id: int | None = Field(default=None, foreign_key="inspector.id", index=True,
                                    description="Who is to respond (the answer's author)")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                description="When the query was opened (UTC)")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                 description="Last step of the thread (UTC)")


class QueryMessage(SQLModel, table=True):
    """One step of a query's thread: opening, a response, an answer change, closing."""

    __tablename__ = "query_message"
    __table_args__ = (*_checks("query_message", {"action": QUERY_ACTIONS}),)

    id: int | None = Field(default=None, primary_key=True)
    query_id: int = Field(foreign_key="query.id", index=True, description="The query")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, description="When (UTC)")
    author_id: int = Field(foreign_key="inspector.id", description="Who wrote it")
    action: str = Field(max_length=12,
                        description="open, respond, change, close or reopen")
    text: str = Field(description="The comment, response or reason")
    old_value: str | None = Field(default=None, max_length=200,
                                  description="The answer before a change")
    new_value: str | None = Field(default=None, max_length=200,
                                  description="The answer after a change")
