"""Compile the thematic report: every table from the stored cases, in figure order.

Thematic-sample tables come from `thematic` inspections; the IOM comparison from every
case whose IOM status is known (in the demo, the core programme). Each number is
computed here once; the PDF, XLSX, Markdown and JSON renderers only format it.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pandas as pd

from audit import __version__
from audit.errors import UsageError
from audit.inspections import inspections_for_reading, question_set_of
from audit.permissions import Actor, require
from audit.report import tables as t
from audit.report.model import Report, ReportMeta, ReportTable
from audit.store.engine import Database
from audit.store.models import Inspection
from audit.views.analysis import compare
from audit.views.report_data import case_counts, rating_pairs, unit_counts
from audit.views.samples import REPORT_RATER, Sample, answer_counts, sample_cases
from question_sets import QuestionSet
from stats.regression import DEFAULT_COVARIATES

# In the order of the publication: chapter 4 (desistance 4.2-4.6, keeping safe 4.7-4.9),
# chapter 5, then the annex tables.
TABLE_IDS = ("profile", "iom_registration", "factors_linked", "partner_info",
             "plan_reoffending", "factors_delivered", "index_offence", "keeping_safe",
             "iom_module", "outcomes", "iom_comparison", "standard_ratings", "reliability")
DEFAULT_BANDS = (80.0, 65.0, 50.0)

Progress = Callable[[int, int, str], None]

IOM_MODULE = ("iom.reasons_known", "iom.explained", "iom.partner_info", "iom.plan_requirements",
              "iom.plan_roles", "iom.supported_engage", "iom.complied", "iom.recalled",
              "iom.su_involved_review", "iom.review_adjusted", "iom.deselected",
              "iom.exit_strategy", "safe.da_enquiries", "safe.safeguarding_enquiries",
              "safe.info_shared", "safe.victim_focus")
OUTCOMES = ("outcome.reoffended", "outcome.frequency", "outcome.seriousness")


def _samples(inspections: Sequence[Inspection]) -> tuple[Sample | None, list[Sample]]:
    """The thematic sample, and the samples shown side by side in Figures 4.3 and 4.6."""
    thematic = [i for i in inspections if i.kind == "thematic"]
    core = [i for i in inspections if i.kind == "core"]
    theme = (Sample("thematic", "Thematic IOM sample",
                    tuple(i.id for i in thematic if i.id is not None))
             if thematic else None)
    side = [theme] if theme else []
    if core:
        side.append(Sample("core_iom", "Core programme IOM cases",
                           tuple(i.id for i in core if i.id is not None), iom_only=True))
    return theme, side


def _has_data(table: ReportTable) -> bool:
    """Whether a table counts anything (an empty figure is left out, not printed blank)."""
    return bool(table.rows) and any(v for v in table.base.values()) if table.base else bool(
        table.rows)


def _has(qs: QuestionSet, *ids: str) -> bool:
    known = {q.id for q in qs.questions}
    return all(i in known for i in ids)


def compile_report(db: Database, *, actor: Actor, inspections: Sequence[str] | None = None,
                   tables: Sequence[str] | None = None, suppress_below: int = 5,
                   command: str | None = None, bands: Sequence[float] = DEFAULT_BANDS,
                   alpha: float = 0.05, correction: str = "holm",
                   progress: Progress | None = None) -> Report:
    """Build every requested table (default: all that the data supports).

    The report holds aggregate tables only: leads and researchers may compile it.
    """
    wanted = list(tables) if tables else list(TABLE_IDS)
    unknown = [w for w in wanted if w not in TABLE_IDS]
    if unknown:
        raise UsageError(f"unknown table(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(TABLE_IDS)}")
    if len(bands) != 3 or not bands[0] > bands[1] > bands[2]:
        raise UsageError("rating bands must be three falling percentages, e.g. 80,65,50")
    with db.session() as session:
        require(session, actor, "report")
        chosen = inspections_for_reading(session, inspections)
        sets = {i.id: question_set_of(i) for i in chosen}
    qs = max(sets.values(), key=lambda s: len(s.questions))
    theme, side = _samples(chosen)
    step = 0
    total = len(wanted)

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        if progress:
            progress(step, total, label)

    built: dict[str, ReportTable] = {}
    theme_cases = sample_cases(db, theme) if theme is not None else None
    theme_counts = (answer_counts(db, theme, [q.id for q in qs.questions])
                    if theme is not None else None)
    factor_qs = [q.id for q in qs.questions if q.factor]
    side_counts = {s.id: (theme_counts if theme_counts is not None and s is theme
                          else answer_counts(db, s, factor_qs)) for s in side}
    all_ids = [i.id for i in chosen if i.id is not None]
    for table_id in wanted:
        table = _build_one(table_id, db=db, qs=qs, theme=theme, theme_cases=theme_cases,
                           theme_counts=theme_counts, side=side, side_counts=side_counts,
                           all_ids=all_ids, inspections=list(inspections or []),
                           bands=bands, alpha=alpha, correction=correction)
        if table is not None and _has_data(table):
            built[table_id] = table
        tick(table_id)
    sizes = case_counts(db, all_ids)
    samples: list[tuple[str, int]] = []
    for insp in chosen:
        kind = "thematic fieldwork sample" if insp.kind == "thematic" else "core programme"
        samples.append((f"{insp.name} ({kind})", sizes.get(insp.id, 0) if insp.id else 0))
    meta = ReportMeta(
        title="Integrated Offender Management: inspection findings",
        subtitle="Tables and charts compiled from the case assessments",
        generated_at=datetime.now(UTC), software_version=f"iom-audit {__version__}",
        command=command or regenerate_command(inspections, tables, suppress_below),
        question_sets=tuple(sorted({f"{s.id} v{s.version}" for s in sets.values()})),
        samples=tuple(samples), suppress_below=suppress_below,
        methods=_methods(alpha, correction, suppress_below, bands))
    return Report(meta, tuple(built[i] for i in wanted if i in built))


def _build_one(table_id: str, *, db: Database, qs: QuestionSet, theme: Sample | None,
               theme_cases: pd.DataFrame | None, theme_counts: pd.DataFrame | None,
               side: list[Sample], side_counts: dict[str, pd.DataFrame], all_ids: list[int],
               inspections: list[str], bands: Sequence[float], alpha: float,
               correction: str) -> ReportTable | None:
    """One table, or None when the data holds nothing for it."""
    if table_id == "profile" and theme is not None and theme_cases is not None:
        return t.profile_table(theme_cases, theme)
    if table_id == "index_offence" and theme is not None and theme_cases is not None:
        return t.index_offence_table(theme_cases, theme)
    if table_id == "factors_linked" and side and qs.factors:
        return t.factors_linked_table(qs, side, side_counts)
    if table_id == "factors_delivered" and side and qs.factors:
        return t.factors_delivered_table(qs, side, side_counts)
    if theme is None or theme_counts is None:
        if table_id == "iom_comparison":
            return _comparison(db, qs, inspections, alpha, correction)
        if table_id == "standard_ratings":
            return _ratings(db, qs, all_ids, bands)
        if table_id == "reliability":
            return _reliability(db, qs, all_ids)
        return None
    section = "The quality of case work to support desistance"
    if table_id == "iom_registration" and _has(qs, "iom.explained"):
        return t.yes_no_table("iom_registration", "4.2",
                              "Were the reasons for IOM registration explained to the service "
                              "user at the time and were their views taken into account?",
                              qs, "iom.explained", theme, theme_counts, section)
    if table_id == "partner_info" and _has(qs, "iom.partner_info"):
        return t.yes_no_table("partner_info", "4.4",
                              "Does assessment sufficiently incorporate information obtained "
                              "from IOM partners?", qs, "iom.partner_info", theme,
                              theme_counts, section)
    if table_id == "plan_reoffending" and _has(qs, "2.2.2"):
        return t.yes_no_table("plan_reoffending", "4.5",
                              "Does the plan focus sufficiently on reducing reoffending?", qs,
                              "2.2.2", theme, theme_counts, section)
    if table_id == "iom_module":
        present = [q for q in IOM_MODULE if _has(qs, q)]
        if present:
            return t.question_counts_table(
                "iom_module", "4.10", "The IOM module: selection, planning, delivery, review "
                "and keeping people safe", qs, present, theme, theme_counts,
                "The quality of work to keep people safe")
    if table_id == "keeping_safe" and _has(qs, *(q for p in t.KEEPING_SAFE_PAIRS for q in p[1:])):
        return t.keeping_safe_table(qs, theme, theme_counts)
    if table_id == "outcomes" and _has(qs, *OUTCOMES):
        return t.choice_table("outcomes", "5.1",
                              "Is there evidence that the service user has been convicted, "
                              "cautioned, or had another out-of-court disposal for an offence "
                              "committed since the start of sentence/release on licence?",
                              qs, list(OUTCOMES), theme, theme_counts,
                              "Understanding the impact of IOM")
    if table_id == "iom_comparison":
        return _comparison(db, qs, inspections, alpha, correction)
    if table_id == "standard_ratings":
        return _ratings(db, qs, all_ids, bands)
    if table_id == "reliability":
        return _reliability(db, qs, all_ids)
    return None


def _comparison(db: Database, qs: QuestionSet, inspections: list[str], alpha: float,
                correction: str) -> ReportTable | None:
    # No names: `compare` itself keeps the inspections holding both IOM and non-IOM cases.
    result = compare(db, by="iom", inspections=inspections or None, questions="key",
                     alpha=alpha, correction=correction)
    if not result.rows or any(not any(r.groups[lv].n for r in result.rows)
                              for lv in result.levels):
        return None  # no IOM status known on both sides: nothing to compare
    return t.iom_comparison_table(result, qs)


def _ratings(db: Database, qs: QuestionSet, ids: list[int],
             bands: Sequence[float]) -> ReportTable | None:
    key = [q.id for q in qs.questions if q.key]
    if not key:
        return None
    counts = unit_counts(db, ids, key)
    if counts.empty:
        return None
    return t.standard_ratings_table(qs, counts, bands)


def _reliability(db: Database, qs: QuestionSet, ids: list[int]) -> ReportTable | None:
    from stats import reliability

    key = [q.id for q in qs.questions if q.key]
    pairs = rating_pairs(db, ids, key)
    if pairs is None:
        return None
    primary, qa = pairs
    labels = {q: qs.question(q).label for q in key}
    result = reliability(primary[key], qa[key], key, labels=labels)
    return t.reliability_table(result)


def _methods(alpha: float, correction: str, suppress_below: int,
             bands: Sequence[float]) -> tuple[str, ...]:
    corr = {"holm": "Holm's step-down method", "bh": "the Benjamini-Hochberg procedure",
            "none": "no correction"}[correction]
    return (
        "Percentages are of the cases where a question applied and was answered yes or no; "
        "'not applicable' answers and unanswered questions are excluded from every base.",
        "IOM and non-IOM cases are compared on each question with Pearson's chi-square test "
        "without continuity correction when every expected count is at least 5, and Fisher's "
        "exact test otherwise. Differences in percentage points carry 95% Newcombe hybrid "
        "score intervals.",
        f"p-values are adjusted across each table with {corr}; a difference is called "
        f"significant at alpha = {alpha:g}.",
        "Whether IOM status has an effect of its own was tested with a logistic regression of "
        f"each answer on IOM status and {', '.join(DEFAULT_COVARIATES)} (statsmodels).",
        f"Cells counting fewer than {suppress_below} cases are shown as * in published "
        "outputs, to protect the individuals concerned; the JSON tables keep raw counts.",
        f"Standards are rated by their lowest-scoring key question: {bands[0]:g}% or more "
        f"Outstanding, {bands[1]:g}% Good, {bands[2]:g}% Requires improvement, below "
        "Inadequate.",
        f"Answers counted are the {REPORT_RATER} ratings; quality-assurance ratings feed the "
        "inter-rater reliability table only.",
    )


def regenerate_command(inspections: Sequence[str] | None, tables: Sequence[str] | None,
                       suppress_below: int) -> str:
    """The command line that rebuilds this report (as it was run, when known)."""
    if sys.argv and sys.argv[0].endswith("iom-audit"):
        return "iom-audit " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    parts = ["iom-audit", "report", "--out", "report.pdf"]
    for name in inspections or []:
        parts += ["--inspection", name]
    if tables:
        parts += ["--tables", ",".join(tables)]
    if suppress_below != 5:
        parts += ["--suppress-below", str(suppress_below)]
    return " ".join(shlex.quote(p) for p in parts)
