"""Statistics on stored cases: what `compare`, the app's comparison view and the report use.

This module only moves data: it reads columns in bulk (`audit.views.frames`) and hands plain
DataFrames to `stats`, which does every calculation.

It imports no pandas, scipy or statsmodels itself: `compare` loads them after it has
started its long read on SQLite (`audit.views.answer_lists`), so that the read and the
imports (about a second each at 100,000 cases) run at the same time (issue 19).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import sqlalchemy as sa
from sqlmodel import col

from audit import final_record, qa_rules
from audit.errors import UsageError
from audit.formatting import format_p
from audit.inspections import inspections_for_reading, question_set_of
from audit.permissions import Actor, require
from audit.profile import level_label as level_label  # its home; read models use it
from audit.store.engine import Database
from audit.store.models import Case, Inspection, Site
from audit.views import answer_lists
from audit.views.background import collection_paused, in_background
from audit.views.groups import IOM_LEVELS, group_expression, groupable_fields
from question_sets import QuestionSet
from question_sets.profile import PROFILE

if TYPE_CHECKING:
    from stats.results import Comparison, ComparisonRow, QuestionInfo

CORRECTIONS = ("holm", "bh", "none")

DEFAULT_COVARIATES = ("case_type", "rosh", "likelihood", "provider")
"""`stats.results.DEFAULT_COVARIATES`, named here without loading the statistics stack (a
test holds the two equal)."""


@dataclass(frozen=True)
class Scope:
    """The inspections a reading command covers and the question set(s) they use."""

    inspection_ids: tuple[int, ...]
    inspection_names: tuple[str, ...]
    question_set: QuestionSet  # the richest set among them (questions are matched by id)
    excluded: tuple[str, ...] = ()  # left out of a comparison: one group only


def scope(db: Database, inspections: Sequence[str] | None = None) -> Scope:
    """Resolve `--inspection` names (default: all) to ids and a question set."""
    with db.session() as session:
        chosen = inspections_for_reading(session, inspections)
        sets = [question_set_of(i) for i in chosen]
    richest = max(sets, key=lambda qs: len(qs.questions))
    return Scope(tuple(i.id for i in chosen if i.id is not None),
                 tuple(i.name for i in chosen), richest)


def comparable(db: Database, where: Scope, by: str) -> Scope:
    """Narrow a scope to the inspections holding cases of at least two groups of `by`.

    A thematic sample of IOM cases only has nothing to compare within it; pooling it
    with a core-programme sample would mix two sampling designs in one group. So unless
    inspections are named, a comparison covers the inspections where both sides exist.
    """
    if by == "inspection":
        return where
    level = group_expression(by)
    stmt = (sa.select(col(Case.inspection_id), sa.func.count(sa.distinct(level)))
            .select_from(Case)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .where(col(Case.inspection_id).in_(where.inspection_ids))
            .group_by(col(Case.inspection_id)))
    with db.engine.connect() as conn:
        levels = dict(conn.execute(stmt).all())
    keep = [i for i in where.inspection_ids if levels.get(i, 0) >= 2]
    if not keep or len(keep) == len(where.inspection_ids):
        return where
    names = dict(zip(where.inspection_ids, where.inspection_names, strict=True))
    return Scope(tuple(keep), tuple(names[i] for i in keep), where.question_set,
                 tuple(names[i] for i in where.inspection_ids if i not in keep))


def select_questions(qs: QuestionSet, spec: str) -> list[str]:
    """`key`, `all` (every yes/no question) or a comma-separated list of ids."""
    if spec == "key":
        ids = [q.id for q in qs.questions if q.key]
        ro = [q.id for q in qs.questions if q.section == "ro"]
        return ids + ro
    if spec == "all":
        return [q.id for q in qs.questions if q.type in {"yes_no", "yes_no_na"}]
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    known = {q.id for q in qs.questions}
    unknown = [q for q in wanted if q not in known]
    if unknown:
        raise UsageError(f"unknown question(s) {', '.join(unknown)} in {qs.id}")
    return wanted


def question_info(qs: QuestionSet, questions: Sequence[str]) -> dict[str, QuestionInfo]:
    """Labels, standards and key flags for the stats layer."""
    from stats.results import QuestionInfo

    out = {}
    for qid in questions:
        q = qs.question(qid)
        out[qid] = QuestionInfo(label=q.label, section=q.section_title, key=q.key)
    return out


def check_options(*, alpha: float, correction: str) -> None:
    """Refuse a significance level or a correction a comparison cannot use."""
    if correction not in CORRECTIONS:
        raise UsageError(f"--correction must be {', '.join(CORRECTIONS[:-1])} or "
                         f"{CORRECTIONS[-1]}")
    if not 0 < alpha < 1:
        raise UsageError("--alpha must be between 0 and 1")


def compare(db: Database, *, by: str = "iom", inspections: Sequence[str] | None = None,
            questions: str | Sequence[str] = "key", alpha: float = 0.05,
            correction: str = "holm", test: str = "auto", yates: bool = False,
            independent_effect: bool = True,
            covariates: Sequence[str] = DEFAULT_COVARIATES) -> Comparison:
    """Compare groups of cases on each question (Figure 5.2 for `by="iom"`), counting the
    moderated final record (`audit.final_record`), as the report does."""
    check_options(alpha=alpha, correction=correction)
    if by not in groupable_fields():
        raise UsageError(f"cannot group by {by!r}; choose one of {', '.join(groupable_fields())}")
    where = scope(db, inspections)
    if not inspections:
        where = comparable(db, where, by)
    qids = (select_questions(where.question_set, questions) if isinstance(questions, str)
            else list(questions))
    # SQLite lists the cases behind every answer (the long read, outside Python's lock)
    # in a thread from here, while the interpreter imports the statistics stack below.
    listed = answer_lists.prefetch(db, qids, where.inspection_ids, final_record.COUNTED)
    with collection_paused():
        from audit.views.tally import group_patterns, prefetch_answer_scan, tally_patterns
        from stats.aggregate import compare_counts
    if listed is None:
        # Inside a report, its shared scan lists them (once for every table that counts
        # them; started already when the report knew it would); elsewhere nothing is done.
        prefetch_answer_scan(qids, final_record.COUNTED, db=db)

    # The model's libraries (statsmodels and scipy.stats, about a second) import in the
    # background from as soon as a model is known to be due, so that they take the
    # interpreter whenever this thread waits for the database (SQLite works outside
    # Python's lock). Not before the imports above: two threads importing pandas at once
    # would only take turns.
    models_loading = independent_effect and by == "iom"  # two levels, known before counting
    if models_loading:
        in_background(_import_model_libraries, "import statsmodels")
    usable = [c for c in covariates if c != by and c in groupable_fields()]
    grouped = group_patterns(db, where.inspection_ids, by=by,
                             covariates=usable if independent_effect else ())
    levels = IOM_LEVELS if by == "iom" else _levels(grouped.sizes, by)
    if independent_effect and len(levels) == 2 and not models_loading:
        in_background(_import_model_libraries, "import statsmodels")
    counts = tally_patterns(db, grouped.patterns, qids, inspection_ids=where.inspection_ids,
                            rater=final_record.COUNTED, prefetched=listed)
    return compare_counts(counts, by, qids, question_info(where.question_set, qids),
                          levels=levels, group_sizes=grouped.sizes, alpha=alpha,
                          correction=correction, test=test, yates=yates, covariates=usable,
                          independent_effect=independent_effect,
                          missing_group=grouped.unknown)


def _import_model_libraries() -> None:
    """statsmodels and scipy.stats, imported without cycle collections (see
    `collection_paused`)."""
    from stats.regression import import_model_libraries

    with collection_paused():
        import_model_libraries()


def _levels(sizes: Mapping[str, int], by: str) -> tuple[str, ...]:
    """The group levels in their codebook order (observed ones only)."""
    observed = set(sizes)
    spec = PROFILE.get(by)
    if spec is not None and spec.kind == "code":
        return tuple(c for c in spec.codes if c in observed)
    if spec is not None and spec.kind == "bool":
        return tuple(c for c in ("yes", "no") if c in observed)
    return tuple(sorted(observed))


@dataclass(frozen=True)
class CaseBehind:
    """A case behind a cell of the comparison table."""

    case_id: int
    inspection: str
    case_ref: str
    site: str | None
    value: str | None


BEHIND_PAGE = 200
"""Cases listed at a time behind a cell of the comparison table."""


@dataclass(frozen=True)
class BehindPage:
    """One page of the cases behind a cell, and how many there are in all."""

    cases: list[CaseBehind]
    total: int
    offset: int


def cases_behind(db: Database, *, actor: Actor, question_id: str, level: str,
                 answer: str | None = None,
                 by: str = "iom", inspections: Sequence[str] | None = None,
                 limit: int = BEHIND_PAGE, offset: int = 0) -> list[CaseBehind]:
    """The cases of one group with (optionally) one answer to one question: the answer
    the comparison counts, from the moderated final record (`audit.final_record`).

    A case whose QA the actor is still rating blind is left out: the list shows its
    primary or moderated answer (`audit.qa_rules`)."""
    return page_behind(db, actor=actor, question_id=question_id, level=level, answer=answer,
                       by=by, inspections=inspections, limit=limit, offset=offset).cases


def page_behind(db: Database, *, actor: Actor, question_id: str, level: str,
                answer: str | None = None,
                by: str = "iom", inspections: Sequence[str] | None = None,
                limit: int = BEHIND_PAGE, offset: int = 0) -> BehindPage:
    """`cases_behind` from ``offset``, with the number of cases behind the cell in all."""
    where = scope(db, inspections)
    group = group_expression(by)
    # The answer the comparison counted: the final record's (`audit.final_record`).
    final = final_record.final_join(question_id)
    stmt = final.apply(
        sa.select(col(Case.id), col(Inspection.name), col(Case.case_ref), col(Site.name),
                  final.value)
        .select_from(Case)
        .join(Inspection, col(Case.inspection_id) == Inspection.id)
        .outerjoin(Site, col(Case.site_id) == Site.id)
    ).where(col(Case.inspection_id).in_(where.inspection_ids), group == level, final.given)
    if answer is not None:
        stmt = stmt.where(final.value == answer)
    with db.engine.connect() as conn:
        require(conn, actor, "read_cases")
        blind = qa_rules.blind_cases(conn, actor.name)
        if blind:
            stmt = stmt.where(col(Case.id).not_in(sorted(blind)))
        total = int(conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery()))
                    .scalar_one())
        page = stmt.order_by(col(Inspection.name), col(Case.case_ref)).limit(limit) \
            .offset(max(offset, 0))
        # A primary key read back is never NULL (the model types it `int | None` because
        # it is unset before the insert).
        cases = [CaseBehind(cast(int, case_id), name, ref, site, value)
                 for case_id, name, ref, site, value in conn.execute(page)]
    return BehindPage(cases, total, max(offset, 0))


def significant_pairs(row: ComparisonRow, by: str = "") -> list[str]:
    """The pairs of levels that differ after Holm adjustment within the question, as
    "Site A > Site C (p adj. 0.010)", the higher yes rate first."""
    out = []
    for pair in row.pairwise:
        if not pair.significant or pair.diff_pp is None:
            continue
        high, low = (pair.a, pair.b) if pair.diff_pp > 0 else (pair.b, pair.a)
        out.append(f"{level_label(by, high)} > {level_label(by, low)} "
                   f"(p adj. {format_p(pair.p_adjusted)})")
    return out
