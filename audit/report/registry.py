"""Every table of the report, one entry each, in the order of the publication.

An entry is the one place that says where its table stands (id, figure, caption, section),
what it needs (questions the question set must hold; the thematic sample) and how it is
built. `compile_report` walks these entries; the table ids a user may ask for are theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from audit.errors import UsageError
from audit.report import tables as t
from audit.report.context import ReportContext
from audit.report.model import ReportTable
from audit.report.profile_figures import characteristic_table
from audit.report.tables import TableHead
from audit.views.analysis import compare
from audit.views.report_data import rating_pairs

Builder = Callable[["TableEntry", ReportContext], ReportTable | None]


@dataclass(frozen=True)
class TableEntry(TableHead):
    """One table of the report: its heading (id, figure, caption, section) and its recipe."""

    build: Builder  # the table, or None when the data holds nothing for it
    needs: tuple[str, ...] = ()  # question ids the question set must hold
    thematic: bool = False  # describes the thematic sample, so is left out without one
    published: bool = False  # `figure` is this table's number in the 2020 report

    def possible(self, ctx: ReportContext) -> bool:
        """Whether the chosen inspections and their question set can give this table."""
        return ((not self.thematic or ctx.theme is not None)
                and all(q in ctx.qs for q in self.needs))


def _profile(entry: TableEntry, ctx: ReportContext) -> ReportTable:
    return t.profile_table(entry, ctx.theme_cases, ctx.theme_sample)


def _lead_agency(entry: TableEntry, ctx: ReportContext) -> ReportTable:
    return characteristic_table(entry, ctx.theme_cases, ctx.theme_sample, "provider",
                                "Lead agency (% of cases)")


def _risk_of_harm(entry: TableEntry, ctx: ReportContext) -> ReportTable:
    return characteristic_table(entry, ctx.theme_cases, ctx.theme_sample, "rosh",
                                "Risk of serious harm (% of cases)")


def _index_offence(entry: TableEntry, ctx: ReportContext) -> ReportTable:
    return t.index_offence_table(entry, ctx.theme_cases, ctx.theme_sample)


def _factors_linked(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    if not ctx.side or not ctx.qs.factors:
        return None
    return t.factors_linked_table(entry, ctx.qs, ctx.side, ctx.side_counts)


def _factors_delivered(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    if not ctx.side or not ctx.qs.factors:
        return None
    return t.factors_delivered_table(entry, ctx.qs, ctx.side, ctx.side_counts)


def _yes_no(entry: TableEntry, ctx: ReportContext) -> ReportTable:
    # A yes/no figure shows the one question it needs.
    (question,) = entry.needs
    return t.yes_no_table(entry, ctx.qs, question, ctx.theme_sample, ctx.theme_counts)


def _keeping_safe(entry: TableEntry, ctx: ReportContext) -> ReportTable:
    return t.keeping_safe_table(entry, ctx.qs, ctx.theme_sample, ctx.theme_counts)


# The IOM module questions of Figure 4.10; a question set may hold only some of them.
IOM_MODULE = ("iom.reasons_known", "iom.explained", "iom.partner_info", "iom.plan_requirements",
              "iom.plan_roles", "iom.supported_engage", "iom.complied", "iom.recalled",
              "iom.su_involved_review", "iom.review_adjusted", "iom.deselected",
              "iom.exit_strategy", "safe.da_enquiries", "safe.safeguarding_enquiries",
              "safe.info_shared", "safe.victim_focus")


def _iom_module(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    # Needs any one of the module's questions, not all: hence no `needs` on its entry.
    present = [q for q in IOM_MODULE if q in ctx.qs]
    if not present:
        return None
    return t.question_counts_table(entry, ctx.qs, present, ctx.theme_sample, ctx.theme_counts)


def _outcomes(entry: TableEntry, ctx: ReportContext) -> ReportTable:
    table = t.choice_table(entry, ctx.qs, entry.needs, ctx.theme_sample, ctx.theme_counts)
    return _without_caption_heading(table)


def _without_caption_heading(table: ReportTable) -> ReportTable:
    """Drop a first sub-heading that only repeats the caption (Figure 5.1 asks its first
    question in the caption itself)."""
    if not table.rows or not table.is_heading_row(0):
        return table
    first = next((str(v) for v in table.rows[0].values() if v), "")
    if _plain_words(first) != _plain_words(table.caption):
        return table
    return table.without_first_row()


def _plain_words(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip("?.: ")


def _comparison(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    # No names: `compare` itself keeps the inspections holding both IOM and non-IOM cases.
    result = compare(ctx.db, by="iom", inspections=ctx.names or None, questions="key",
                     alpha=ctx.alpha, correction=ctx.correction)
    if not result.rows or any(not any(r.groups[lv].n for r in result.rows)
                              for lv in result.levels):
        return None  # no IOM status known on both sides: nothing to compare
    return t.iom_comparison_table(entry, result, ctx.qs)


def _by_lead_agency(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    result = compare(ctx.db, by="provider", inspections=ctx.names or None, questions="key",
                     alpha=ctx.alpha, correction=ctx.correction)
    answered = [lv for lv in result.levels if any(r.groups[lv].n for r in result.rows)]
    if len(answered) < 2:
        return None  # one lead agency only: nothing to compare
    return t.group_comparison_table(entry, result, ctx.qs)


def _ratings(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    # Built once: the rating gaps (Figure A3) are read off this table too.
    if entry.id not in ctx.made:
        ctx.made[entry.id] = _rate(entry, ctx)
    return ctx.made[entry.id]


def _rate(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    if not ctx.key_questions:
        return None
    counts = ctx.key_unit_counts
    if counts.empty:
        return None
    return t.standard_ratings_table(entry, ctx.qs, counts, ctx.ratings)


def _rating_gaps(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    ratings = _ratings(_BY_ID["standard_ratings"], ctx)
    return None if ratings is None else t.rating_gaps_table(entry, ratings, ctx.qs, ctx.ratings)


def _reliability(entry: TableEntry, ctx: ReportContext) -> ReportTable | None:
    from stats import reliability

    key = ctx.key_questions
    pairs = rating_pairs(ctx.db, ctx.inspection_ids, key)
    if pairs is None:
        return None
    labels = {q: ctx.qs.question(q).label for q in key}
    result = reliability(pairs.primary[key], pairs.qa[key], key, labels=labels)
    return t.reliability_table(entry, result, self_pairs=pairs.self_pairs)


_DESISTANCE = "The quality of case work to support desistance"
_KEEPING_SAFE = "The quality of work to keep people safe"
_IMPACT = "Understanding the impact of IOM"

# Chapter 4 (desistance 4.1-4.6, keeping safe 4.7-4.10), chapter 5, then the annex tables.
# `published=True`: the number is the same table's in the 2020 report (audit.report.numbering).
_PROFILE = "Annex: profile of the case sample"
REGISTRY: tuple[TableEntry, ...] = (
    TableEntry("lead_agency", "4.1", "IOM cases by lead organisation",
               _DESISTANCE, _lead_agency, thematic=True, published=True),
    TableEntry("iom_registration", "4.2",
               "Were the reasons for IOM registration explained to the service user at the "
               "time and were their views taken into account?",
               _DESISTANCE, _yes_no, needs=("iom.explained",), thematic=True, published=True),
    TableEntry("factors_linked", "4.3",
               "The factors most linked to the service user's offending",
               _DESISTANCE, _factors_linked, published=True),
    TableEntry("partner_info", "4.4",
               "Does assessment sufficiently incorporate information obtained from IOM "
               "partners?", _DESISTANCE, _yes_no, needs=("iom.partner_info",), thematic=True,
               published=True),
    TableEntry("plan_reoffending", "4.5",
               "Does the plan focus sufficiently on reducing reoffending?",
               _DESISTANCE, _yes_no, needs=("2.2.2",), thematic=True, published=True),
    TableEntry("factors_delivered", "4.6",
               "Were sufficient services delivered to address relevant offending-related "
               "factors?", _DESISTANCE, _factors_delivered, published=True),
    TableEntry("index_offence", "4.7",
               "Index offences committed by those in the case sample",
               _KEEPING_SAFE, _index_offence, thematic=True, published=True),
    TableEntry("risk_of_harm", "4.8",
               "What was the risk of serious harm classification at the start of the most "
               "recent sentence/period of supervision?",
               _KEEPING_SAFE, _risk_of_harm, thematic=True, published=True),
    TableEntry("keeping_safe", "4.9",
               "The quality of practice to keep victims and other people safe",
               _KEEPING_SAFE, _keeping_safe,
               needs=tuple(q for pair in t.KEEPING_SAFE_PAIRS for q in pair[1:]),
               thematic=True, published=True),
    TableEntry("iom_module", "4.10",
               "The IOM module: selection, planning, delivery, review and keeping people safe",
               _KEEPING_SAFE, _iom_module, thematic=True),
    TableEntry("outcomes", "5.1",
               "Is there evidence that the service user has been convicted, cautioned, or had "
               "another out-of-court disposal for an offence committed since the start of "
               "sentence/release on licence?", _IMPACT, _outcomes,
               needs=("outcome.reoffended", "outcome.frequency", "outcome.seriousness"),
               thematic=True, published=True),
    TableEntry("iom_comparison", "5.2",
               "Summary of inspection findings: IOM and non-IOM cases", _IMPACT, _comparison,
               published=True),
    TableEntry("lead_agency_comparison", "5.3",
               "Key questions by lead agency, with the pairs of agencies that differ",
               _IMPACT, _by_lead_agency),
    TableEntry("profile", "A1",
               "Inspection case profile: lead agency, case type, risk of serious harm, "
               "demographics and previous convictions",
               _PROFILE, _profile, thematic=True),
    TableEntry("standard_ratings", "A2",
               "Case supervision standards rated per site and per lead agency",
               "Annex: ratings", _ratings),
    TableEntry("rating_gaps", "A3",
               "Yes answers each standard needs to reach the next rating, per site and per "
               "lead agency", "Annex: ratings", _rating_gaps),
    TableEntry("reliability", "A4",
               "Inter-rater reliability: primary and quality-assurance ratings",
               "Annex: quality assurance", _reliability),
)

TABLE_IDS: tuple[str, ...] = tuple(e.id for e in REGISTRY)
#: The number each table of the 2020 report has there, by table id.
PUBLISHED_FIGURES: dict[str, str] = {e.id: e.figure for e in REGISTRY if e.published}
_BY_ID = {e.id: e for e in REGISTRY}


def entries(table_ids: Sequence[str] | None) -> list[TableEntry]:
    """The entries of the tables asked for, in the order asked (default: all, in order)."""
    wanted = list(table_ids) if table_ids else list(TABLE_IDS)
    unknown = [w for w in wanted if w not in _BY_ID]
    if unknown:
        raise UsageError(f"unknown table(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(TABLE_IDS)}")
    return [_BY_ID[w] for w in wanted]
