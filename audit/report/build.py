"""Compile the thematic report: every table from the stored cases, in figure order.

Thematic-sample tables come from `thematic` inspections; the IOM comparison from every
case whose IOM status is known (in the demo, the core programme). Which tables exist, and
how each is built, is `audit.report.registry`; each number is computed there once, and the
PDF, XLSX, Markdown and JSON renderers only format it.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from audit import __version__, final_record
from audit.errors import UsageError
from audit.inspections import inspections_for_reading, question_set_of
from audit.permissions import Actor, require
from audit.report.context import ReportContext
from audit.report.disclosure_rule import DisclosureRule, rule_named
from audit.report.model import Report, ReportMeta, ReportTable
from audit.report.numbering import number_figures
from audit.report.registry import PUBLISHED_FIGURES, TABLE_IDS, entries
from audit.report.tables import covariate_words, ratings_rule_words
from audit.store.engine import Database
from audit.views.analysis import select_questions
from audit.views.background import in_background
from audit.views.report_data import case_counts
from audit.views.tally import prefetch_answer_scan, share_case_grouping, shared_answer_scan
from question_sets.model import Ratings
from stats.regression import DEFAULT_COVARIATES, import_model_libraries

__all__ = ["TABLE_IDS", "Progress", "compile_report", "rating_rules", "regenerate_command"]

Progress = Callable[[int, int, str], None]

# Tables counting the key questions of the whole caseload (`select_questions(qs, "key")`).
_KEY_SCANS = frozenset({"iom_comparison", "lead_agency_comparison", "standard_ratings",
                        "rating_gaps"})
# The fields those tables group the cases by: the comparisons' (by IOM status, by lead
# agency, each with the others as covariates) and the ratings' (site and lead agency per
# inspection).
_GROUPED_BY = ("iom", *DEFAULT_COVARIATES, "inspection", "site")
# Tables counting the factor questions of a side-by-side sample (`ReportContext.side_counts`).
_FACTOR_SCANS = frozenset({"factors_linked", "factors_delivered"})


def _has_data(table: ReportTable) -> bool:
    """Whether a table counts anything (an empty figure is left out, not printed blank)."""
    return bool(table.rows) and any(v for v in table.base.values()) if table.base else bool(
        table.rows)


def compile_report(db: Database, *, actor: Actor, inspections: Sequence[str] | None = None,
                   tables: Sequence[str] | None = None, suppress_below: int = 5,
                   command: str | None = None, bands: Sequence[float] | None = None,
                   alpha: float = 0.05, correction: str = "holm",
                   progress: Progress | None = None, figure_numbers: str = "2020",
                   organisation: str = "", marking: str = "",
                   disclosure: str = "threshold") -> Report:
    """Build every requested table (default: all that the data supports).

    The report holds aggregate tables only: leads and researchers may compile it. Standards
    are rated by the question set's rules (``ratings:`` in its YAML); ``bands`` replaces
    their thresholds, highest first, for this report only. `figure_numbers` is "2020"
    (the 2020 report's numbers) or "sequential" (`audit.report.numbering`).
    ``disclosure`` names the rule the published outputs follow ("threshold", with
    ``suppress_below``, or "ons-10-5"); the tables themselves keep raw numbers.
    """
    rule = rule_named(disclosure, suppress_below)
    suppress_below = rule.threshold
    wanted = entries(tables)
    organisation, marking = check_title_text(organisation, marking)
    with db.session() as session:
        require(session, actor, "report")
        chosen = inspections_for_reading(session, inspections)
        sets = {i.id: question_set_of(i) for i in chosen}
    qs = max(sets.values(), key=lambda s: len(s.questions))
    rules = rating_rules(qs.ratings, bands)
    ctx = ReportContext(db, qs, chosen, names=list(inspections or []), ratings=rules,
                        alpha=alpha, correction=correction)
    if any(e.id == "iom_comparison" for e in wanted):
        # Figure 5.2 fits models: their libraries (statsmodels, scipy.stats; about a
        # second) import in the background while the tables before it read the database,
        # which leaves the interpreter free (SQLite works outside Python's lock).
        in_background(import_model_libraries, "import statsmodels")
    built: dict[str, ReportTable] = {}
    # Several tables count the same questions of the whole caseload (the comparisons by
    # IOM status and by lead agency, the ratings per site): one scan of the answers each.
    with shared_answer_scan(db):
        if any(e.id in _KEY_SCANS for e in wanted):
            # Their questions (the key ones and reoffending) are listed on the second core
            # while the first tables read theirs.
            prefetch_answer_scan(select_questions(qs, "key"))
        if any(e.id in _KEY_SCANS for e in wanted):
            # The same tables group the cases by their profile (the comparisons with
            # their covariates, the ratings by site and provider): grouped once, beside.
            # (PostgreSQL: their key questions counted per pattern of it, in one query.)
            share_case_grouping(ctx.inspection_ids, _GROUPED_BY,
                                questions=select_questions(qs, "key"))
        if any(e.id in _FACTOR_SCANS for e in wanted) and any(
                s is not ctx.theme for s in ctx.side):
            # So are the factors the core programme's IOM cases are counted on (Figures
            # 4.3 and 4.6): a scan of their own, on the other core, beside the first
            # tables' reads, rather than the third table's wait.
            prefetch_answer_scan([q.id for q in qs.questions if q.factor])
        for step, entry in enumerate(wanted, start=1):
            table = entry.build(entry, ctx) if entry.possible(ctx) else None
            if table is not None and _has_data(table):
                built[entry.id] = table
            if progress:
                progress(step, len(wanted), entry.id)
    sizes = case_counts(db, ctx.inspection_ids)
    samples: list[tuple[str, int]] = []
    for insp in chosen:
        kind = "thematic fieldwork sample" if insp.kind == "thematic" else "core programme"
        samples.append((f"{insp.name} ({kind})", sizes.get(insp.id or 0, 0)))
    numbered, numbering_note = number_figures(
        [built[e.id] for e in wanted if e.id in built], figure_numbers, PUBLISHED_FIGURES)
    meta = ReportMeta(
        title="Integrated Offender Management: inspection findings",
        subtitle="Tables and charts compiled from the case assessments",
        generated_at=datetime.now(UTC), software_version=f"iom-audit {__version__}",
        command=command or regenerate_command(inspections, tables, suppress_below, rule.name),
        question_sets=tuple(sorted({f"{s.id} v{s.version}" for s in sets.values()})),
        samples=tuple(samples), suppress_below=suppress_below, disclosure=rule.name,
        methods=_methods(alpha, correction, rule, rules),
        organisation=organisation, marking=marking, numbering_note=numbering_note)
    return Report(meta, numbered)


def check_title_text(organisation: str, marking: str) -> tuple[str, str]:
    """The organisation and protective marking as printed, or a UsageError naming the
    option: one line each, printable, short enough for a header."""
    out: list[str] = []
    for option, text, limit in (("--organisation", organisation, 120),
                                ("--marking", marking, 60)):
        text = " ".join(text.split())
        if len(text) > limit:
            raise UsageError(f"{option} is {len(text)} characters long; at most {limit}")
        if any(not ch.isprintable() for ch in text):
            raise UsageError(f"{option} holds a character that cannot be printed")
        out.append(text)
    return out[0], out[1]


def rating_rules(rules: Ratings, bands: Sequence[float] | None) -> Ratings:
    """The question set's rating rules, with ``bands`` (highest first) as thresholds if given."""
    if bands is None:
        return rules
    names = [rating for rating, _ in rules.bands]
    example = ",".join(f"{t:g}" for _, t in rules.bands)
    if len(bands) != len(names):
        raise UsageError(f"rating bands must be {len(names)} percentages, one each for "
                         f"{', '.join(names)}, e.g. {example}")
    if not all(0 <= b <= 100 for b in bands) or any(
            not high > low for high, low in zip(bands, bands[1:], strict=False)):
        raise UsageError(f"rating bands must be falling percentages between 0 and 100, "
                         f"e.g. {example}")
    return Ratings(tuple(zip(names, (float(b) for b in bands), strict=True)), rules.below,
                   rules.decimals)


def _methods(alpha: float, correction: str, rule: DisclosureRule,
             rules: Ratings) -> tuple[str, ...]:
    from audit.report.suppression import methods_statement

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
        f"each answer on IOM status and {covariate_words(DEFAULT_COVARIATES)} (statsmodels' "
        "binomial GLM on the counts per covariate pattern, which gives the row-level "
        "estimates exactly); a characteristic with one value only among the cases "
        "answering a question is left out of that question's model, and Figure 5.2 says so.",
        methods_statement(rule),
        ratings_rule_words(rules),
        final_record.METHODS_TEXT,
    )


def regenerate_command(inspections: Sequence[str] | None, tables: Sequence[str] | None,
                       suppress_below: int, disclosure: str = "threshold") -> str:
    """The command line that rebuilds this report (as it was run, when known)."""
    if sys.argv and sys.argv[0].endswith("iom-audit"):
        return "iom-audit " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    parts = ["iom-audit", "report", "--out", "report.pdf"]
    for name in inspections or []:
        parts += ["--inspection", name]
    if tables:
        parts += ["--tables", ",".join(tables)]
    if disclosure != "threshold":
        parts += ["--disclosure", disclosure]
    elif suppress_below != 5:
        parts += ["--suppress-below", str(suppress_below)]
    return " ".join(shlex.quote(p) for p in parts)
