"""Each numbered table of the thematic report, built from counts and statistics.

Rows hold raw numbers (unrounded percentages, exact counts); the renderers format and
suppress. Percentages are of the cases answering the question (the base), never of the
whole sample, as in the published report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from audit import qa_rules
from audit.formatting import format_count, format_p, format_pct, format_pp
from audit.profile import level_label
from audit.rating_rules import next_band, rating_for, yes_to_reach
from audit.report.model import (
    BOLD,
    HEADING,
    SHADE,
    WHOLE_ROW,
    CellRef,
    Chart,
    Column,
    ColumnKind,
    NoteCount,
    ReportTable,
    Share,
    Structure,
    Sum,
)
from audit.report.text import group_label
from audit.views.analysis import significant_pairs
from audit.views.samples import Sample, answered, count_of
from question_sets import QuestionSet
from question_sets.model import Ratings
from question_sets.profile import PROFILE
from stats import Comparison, ComparisonRow, EffectResult, Reliability

YES_NO = ("yes", "no")
NOT_KNOWN = "Not known"


@dataclass(frozen=True)
class TableHead:
    """Where a table stands in the publication: its id, figure number, caption and section.

    The builders below take it rather than literals, so that each caption is stated once,
    in the table's registry entry (``audit.report.registry``).
    """

    id: str
    figure: str
    caption: str
    section: str


def _table(head: TableHead, *, columns: tuple[Column, ...], rows: tuple[dict[str, Any], ...],
           notes: tuple[str, ...], base: dict[str, int] | None = None,
           tests: tuple[str, ...] = (), chart: Chart | None = None,
           row_styles: tuple[dict[str, str], ...] = (),
           structure: Structure | None = None) -> ReportTable:
    return ReportTable(id=head.id, figure=head.figure, caption=head.caption,
                       section=head.section, columns=columns, rows=rows, notes=notes,
                       base=base if base is not None else {}, tests=tests, chart=chart,
                       row_styles=row_styles, structure=structure or Structure())


def _yes_of(rows: list[dict[str, Any]], index: int, prefix: str, base: CellRef | int,
            sums: list[Sum], shares: list[Share], *, count: str = "n",
            no: str = "no") -> None:
    """Declare row ``index``'s percentage as ``count`` of ``base``, and the unprinted rest
    (``base`` - ``count``, kept as a hidden key) as a count disclosure control protects."""
    rest = CellRef(index, f"{prefix}{no}")
    total = base if isinstance(base, int) else rows[base.row].get(base.key)
    yes = rows[index].get(f"{prefix}{count}")
    if isinstance(total, int) and isinstance(yes, int):
        rows[index][rest.key] = total - yes
        sums.append(Sum((CellRef(index, f"{prefix}{count}"), rest), base))
    shares.append(Share(CellRef(index, f"{prefix}pct"), CellRef(index, f"{prefix}{count}"),
                        base))


def pct(part: int, whole: int) -> float | None:
    """Percentage, unrounded; None when there is no base."""
    return 100.0 * part / whole if whole else None


def _count_pct_columns(prefix: str, group: str | None = None, count_label: str = "Number",
                       pct_label: str = "Percentage") -> tuple[Column, Column]:
    return (Column(f"{prefix}n", count_label, "count", group=group, suppressible=True),
            Column(f"{prefix}pct", pct_label, "pct", group=group, suppressible=True,
                   count_of=f"{prefix}n"))


# Profile variables of Annex 2 in the order the report lists them.
PROFILE_ROWS = ("provider", "case_type", "rosh", "likelihood", "mappa_level", "domestic_abuse",
                "child_safeguarding", "prev_convictions", "age_band", "gender", "ethnicity")


def profile_table(head: TableHead, cases: pd.DataFrame, sample: Sample) -> ReportTable:
    """Annex 2 case profile, with Figures 4.1 (lead agency) and 4.8 (risk of serious harm)."""
    rows: list[dict[str, Any]] = []
    styles: list[dict[str, str]] = []
    sums: list[Sum] = []
    shares: list[Share] = []
    total = len(cases)
    for code in PROFILE_ROWS:
        spec = PROFILE[code]
        values = cases[code]
        if spec.kind == "bool":
            values = values.map({True: "yes", False: "no"}, na_action="ignore")
        # A code meaning "not known" (ethnicity has one) joins the unrecorded cases in one
        # "Not known" row, outside the base, rather than printing the category twice.
        unknown_codes = [v for v, label in spec.codes.items() if label == NOT_KNOWN]
        values = values.where(~values.isin(unknown_codes))
        known = int(values.notna().sum())
        # The heading row keeps the block's base (never printed): percentages are of it.
        heading = CellRef(len(rows), "known")
        rows.append({"item": spec.label, "n": None, "pct": None, "known": known})
        styles.append({WHOLE_ROW: HEADING})
        counts = values.value_counts()
        parts = []
        for value, label in spec.codes.items():
            if value in unknown_codes:
                continue
            n = int(counts.get(value, 0))
            parts.append(CellRef(len(rows), "n"))
            shares.append(Share(CellRef(len(rows), "pct"), parts[-1], heading))
            rows.append({"item": label, "n": n, "pct": pct(n, known)})
            styles.append({})
        sums.append(Sum(tuple(parts), heading))
        if known < total:
            sums.append(Sum((heading, CellRef(len(rows), "n")), total))
            rows.append({"item": NOT_KNOWN, "n": total - known, "pct": None})
            styles.append({})
        else:
            sums.append(Sum((heading,), total))
    return _table(
        head, columns=(Column("item", "Characteristic"), *_count_pct_columns("")),
        rows=tuple(rows), row_styles=tuple(styles), base={sample.label: total},
        notes=(f"{sample.label}: {format_count(total)} cases. Percentages are of the cases "
               "where the characteristic was known.",),
        structure=Structure(tuple(sums), tuple(shares)))


def index_offence_table(head: TableHead, cases: pd.DataFrame, sample: Sample) -> ReportTable:
    """Figure 4.7: index offences of the sample."""
    spec = PROFILE["index_offence"]
    values = cases["index_offence"]
    known = int(values.notna().sum())
    counts = values.value_counts()
    rows = [{"offence": label, "n": int(counts.get(code, 0)),
             "pct": pct(int(counts.get(code, 0)), known)}
            for code, label in spec.codes.items() if int(counts.get(code, 0)) > 0]
    rows.append({"offence": "Total", "n": known, "pct": pct(known, known),
                 "not_known": len(values) - known})
    styles: list[dict[str, str]] = [{} for _ in rows[:-1]] + [{WHOLE_ROW: BOLD}]
    last = len(rows) - 1
    basis = NoteCount("Percentages of the {n} cases whose index offence is known.",
                      CellRef(last, "n"),
                      "Percentages of the cases whose index offence is known.")
    notes = [basis.render(format_count(known))]
    unknown = NoteCount("Index offence not known in {n} case(s).", CellRef(last, "not_known"))
    if known < len(values):
        notes.append(unknown.render(format_count(len(values) - known)))
    structure = Structure(
        sums=(Sum(tuple(CellRef(i, "n") for i in range(last)), CellRef(last, "n")),
              Sum((CellRef(last, "n"), unknown.cell), len(values))),
        shares=tuple(Share(CellRef(i, "pct"), CellRef(i, "n"), CellRef(last, "n"))
                     for i in range(last + 1)),
        note_counts=(basis, unknown) if known < len(values) else (basis,),
        base_cells=((sample.label, CellRef(last, "n")),))
    return _table(
        head, columns=(Column("offence", "Index offence"), *_count_pct_columns("")),
        rows=tuple(rows), row_styles=tuple(styles), base={sample.label: known},
        notes=tuple(notes), structure=structure,
        chart=Chart("hbar", "offence", (("pct", sample.label),),
                    title="Index offence (% of cases)"))


def _factor_questions(qs: QuestionSet, suffix: str) -> list[tuple[str, str, str]]:
    """(factor code, label, question id) for each offending-related factor."""
    return [(code, label, f"factor.{code}.{suffix}") for code, label in qs.factors
            if f"factor.{code}.{suffix}" in {q.id for q in qs.questions}]


def factors_linked_table(head: TableHead, qs: QuestionSet, samples: Sequence[Sample],
                         counts: dict[str, pd.DataFrame]) -> ReportTable:
    """Figure 4.3: factors linked to offending, one pair of columns per sample."""
    factors = _factor_questions(qs, "linked")
    columns: list[Column] = [Column("factor", "Factor")]
    base: dict[str, int] = {}
    for s in samples:
        columns += _count_pct_columns(f"{s.id}_", group=s.label)
        c = counts[s.id]
        assessed = c[c["question_id"].isin([q for _, _, q in factors])]
        base[s.label] = max((answered(c, q, YES_NO) for _, _, q in factors), default=0)
        del assessed
    rows: list[dict[str, Any]] = []
    sums: list[Sum] = []
    shares: list[Share] = []
    for _, label, qid in factors:
        row: dict[str, Any] = {"factor": label}
        for s in samples:
            yes = count_of(counts[s.id], qid, "yes")
            row[f"{s.id}_n"] = yes
            row[f"{s.id}_pct"] = pct(yes, answered(counts[s.id], qid, YES_NO))
            # The base of each factor (cases assessed on it), never printed.
            row[f"{s.id}_base"] = answered(counts[s.id], qid, YES_NO)
        rows.append(row)
        for s in samples:
            _yes_of(rows, len(rows) - 1, f"{s.id}_", CellRef(len(rows) - 1, f"{s.id}_base"),
                    sums, shares)
    series = tuple((f"{s.id}_pct", s.label) for s in samples)
    return _table(
        head, columns=tuple(columns), rows=tuple(rows), base=base,
        notes=tuple(f"{label}: percentages of the {format_count(n)} cases assessed." for label, n in
                    base.items()),
        structure=Structure(tuple(sums), tuple(shares)),
        chart=Chart("grouped_hbar" if len(samples) > 1 else "hbar", "factor", series,
                    title="Factors linked to offending (% of cases)"))


def factors_delivered_table(head: TableHead, qs: QuestionSet, samples: Sequence[Sample],
                            counts: dict[str, pd.DataFrame]) -> ReportTable:
    """Figure 4.6: sufficient services delivered, among cases where the factor is linked."""
    factors = _factor_questions(qs, "delivered")
    columns: list[Column] = [Column("answer", "Factor / answer")]
    for s in samples:
        columns += _count_pct_columns(f"{s.id}_", group=s.label)
    rows: list[dict[str, Any]] = []
    styles: list[dict[str, str]] = []
    sums: list[Sum] = []
    shares: list[Share] = []
    chart_rows = []
    for i, (_, label, qid) in enumerate(factors):
        heading = len(rows)
        rows.append({"answer": f"{chr(ord('a') + i)}) {label}",
                     **{f"{s.id}_base": answered(counts[s.id], qid, YES_NO) for s in samples}})
        styles.append({WHOLE_ROW: HEADING})
        for value, text in (("yes", "Yes"), ("no", "No")):
            row: dict[str, Any] = {"answer": text, "factor": label}
            for s in samples:
                n = count_of(counts[s.id], qid, value)
                row[f"{s.id}_n"] = n
                row[f"{s.id}_pct"] = pct(n, answered(counts[s.id], qid, YES_NO))
                shares.append(Share(CellRef(len(rows), f"{s.id}_pct"),
                                    CellRef(len(rows), f"{s.id}_n"),
                                    CellRef(heading, f"{s.id}_base")))
            rows.append(row)
            styles.append({})
        sums += [Sum((CellRef(heading + 1, f"{s.id}_n"), CellRef(heading + 2, f"{s.id}_n")),
                     CellRef(heading, f"{s.id}_base")) for s in samples]
        chart_rows.append(label)
    return _table(
        head, columns=tuple(columns), rows=tuple(rows), row_styles=tuple(styles),
        base={s.label: max((answered(counts[s.id], q, YES_NO) for _, _, q in factors),
                           default=0) for s in samples},
        notes=("Asked only where the factor was linked to offending; percentages are of "
               "those cases.",),
        structure=Structure(tuple(sums), tuple(shares)))


def yes_no_table(head: TableHead, qs: QuestionSet, question_id: str, sample: Sample,
                 counts: pd.DataFrame) -> ReportTable:
    """A single yes/no question as a small table with its bar (Figures 4.2, 4.4, 4.5)."""
    q = qs.question(question_id)
    base = answered(counts, question_id, YES_NO)
    rows = [{"answer": label, "n": count_of(counts, question_id, code),
             "pct": pct(count_of(counts, question_id, code), base)}
            for code, label in (("yes", "Yes"), ("no", "No"))]
    na = count_of(counts, question_id, "na")
    # Base and not-applicable counts are kept (never printed) for disclosure control,
    # which rewords a note that states a small one.
    rows[0]["na"], rows[0]["base"] = na, base
    based = NoteCount(q.text.replace("{", "{{").replace("}", "}}")
                      + " Base: {n} cases answering yes or no.", CellRef(0, "base"),
                      f"{q.text} Base: withheld.")
    notes = [based.render(format_count(base))]
    na_note = NoteCount("Not applicable in {n} case(s), excluded from the base.",
                        CellRef(0, "na"))
    if na:
        notes.append(na_note.render(format_count(na)))
    structure = Structure(
        sums=(Sum((CellRef(0, "n"), CellRef(1, "n")), based.cell),),
        shares=tuple(Share(CellRef(i, "pct"), CellRef(i, "n"), based.cell) for i in (0, 1)),
        note_counts=(based, na_note) if na else (based,),
        base_cells=((sample.label, based.cell),))
    return _table(
        head, columns=(Column("answer", "Answer"), *_count_pct_columns("")),
        rows=tuple(rows), base={sample.label: base}, notes=tuple(notes), structure=structure,
        chart=Chart("hbar", "answer", (("pct", sample.label),), title=q.label))


def question_counts_table(head: TableHead, qs: QuestionSet, question_ids: Sequence[str],
                          sample: Sample, counts: pd.DataFrame) -> ReportTable:
    """Yes out of applicable answers for a list of questions ("21 of 59 cases")."""
    rows: list[dict[str, Any]] = []
    for qid in question_ids:
        q = qs.question(qid)
        base = answered(counts, qid, YES_NO)
        yes = count_of(counts, qid, "yes")
        rows.append({"question": q.label, "question_id": qid, "yes": yes, "n": base,
                     "pct": pct(yes, base), "na": count_of(counts, qid, "na")})
    sums: list[Sum] = []
    shares: list[Share] = []
    for i in range(len(rows)):
        _yes_of(rows, i, "", CellRef(i, "n"), sums, shares, count="yes")
    return _table(
        head, columns=(Column("question", "Question"),
                 Column("yes", "Yes", "count", suppressible=True),
                 Column("n", "Of (applicable)", "count", suppressible=True),
                 Column("pct", "Percentage", "pct", suppressible=True, count_of="yes"),
                 Column("na", "Not applicable", "count", suppressible=True)),
        rows=tuple(rows), base={sample.label: max((r["n"] for r in rows), default=0)},
        notes=("Of: cases where the question applied and was answered yes or no.",),
        structure=Structure(tuple(sums), tuple(shares)),
        chart=Chart("hbar", "question", (("pct", sample.label),), title="% yes"))


def choice_table(head: TableHead, qs: QuestionSet, question_ids: Sequence[str],
                 sample: Sample, counts: pd.DataFrame) -> ReportTable:
    """Answers to choice and yes/no questions, a block per question (Figure 5.1)."""
    rows: list[dict[str, Any]] = []
    styles: list[dict[str, str]] = []
    sums: list[Sum] = []
    shares: list[Share] = []
    for qid in question_ids:
        q = qs.question(qid)
        codes = [c for c in q.codes if c != "na"]
        base = answered(counts, qid, codes)
        heading = CellRef(len(rows), "base")  # the block's base, never printed
        rows.append({"answer": q.text, "base": base})
        styles.append({WHOLE_ROW: HEADING})
        parts = []
        for code in codes:
            n = count_of(counts, qid, code)
            parts.append(CellRef(len(rows), "n"))
            shares.append(Share(CellRef(len(rows), "pct"), parts[-1], heading))
            rows.append({"answer": q.codes[code], "n": n, "pct": pct(n, base),
                         "question_id": qid, "code": code})
            styles.append({})
        sums.append(Sum(tuple(parts), heading))
    stated = answered(counts, question_ids[0],
                      [c for c in qs.question(question_ids[0]).codes if c != "na"])
    if rows:
        sums.append(Sum((CellRef(0, "base"),), stated))  # printed as the table's base
    return _table(
        head, columns=(Column("answer", "Answer"), *_count_pct_columns("")),
        rows=tuple(rows), row_styles=tuple(styles),
        base={sample.label: answered(counts, question_ids[0],
                                     [c for c in qs.question(question_ids[0]).codes if c != "na"])},
        notes=("Frequency and seriousness were asked only of those who reoffended.",),
        structure=Structure(tuple(sums), tuple(shares)))


# Figure 4.9 pairs each standard's desistance question with its keeping-safe question.
KEEPING_SAFE_PAIRS = (("2.1", "2.1.2", "2.1.3"), ("2.2", "2.2.2", "2.2.3"),
                      ("2.3", "2.3.2", "2.3.3"), ("2.4", "2.4.2", "2.4.3"))


def keeping_safe_table(head: TableHead, qs: QuestionSet, sample: Sample,
                       counts: pd.DataFrame) -> ReportTable:
    """Figure 4.9: practice to keep people safe against practice to reduce reoffending."""
    titles = {s.id: s.title for s in qs.sections}
    rows: list[dict[str, Any]] = []
    for section, desist, safe in KEEPING_SAFE_PAIRS:
        d_base, s_base = answered(counts, desist, YES_NO), answered(counts, safe, YES_NO)
        d_yes, s_yes = count_of(counts, desist, "yes"), count_of(counts, safe, "yes")
        rows.append({"standard": titles.get(section, section),
                     "desist_n": d_yes, "desist_base": d_base, "desist_pct": pct(d_yes, d_base),
                     "safe_n": s_yes, "safe_base": s_base, "safe_pct": pct(s_yes, s_base)})
    return _table(
        head, columns=(Column("standard", "Standard"),
                 Column("desist_n", "Yes", "count", "Reducing reoffending", True),
                 Column("desist_base", "Of", "count", "Reducing reoffending", True),
                 Column("desist_pct", "%", "pct", "Reducing reoffending", True, "desist_n"),
                 Column("safe_n", "Yes", "count", "Keeping people safe", True),
                 Column("safe_base", "Of", "count", "Keeping people safe", True),
                 Column("safe_pct", "%", "pct", "Keeping people safe", True, "safe_n")),
        rows=tuple(rows), base={sample.label: max(r["desist_base"] for r in rows)},
        structure=_keeping_safe_structure(rows),
        notes=("Reducing reoffending: questions 2.1.2, 2.2.2, 2.3.2 and 2.4.2; keeping people "
               "safe: 2.1.3, 2.2.3, 2.3.3 and 2.4.3 (in relevant cases).",),
        chart=Chart("grouped_hbar", "standard", (("desist_pct", "Reducing reoffending"),
                                                 ("safe_pct", "Keeping people safe")),
                    title="Sufficient (% of relevant cases)"))


def independent_effect_shown(effect: EffectResult | None, alpha: float) -> bool:
    """Whether Figure 5.2 shades a row: a model was fitted (an odds ratio is given, whatever
    covariate was dropped or however few the events) and IOM status raised the odds of a
    positive judgement significantly."""
    return bool(effect is not None and effect.fitted and effect.p is not None
                and effect.p < alpha and effect.odds_ratio is not None
                and effect.odds_ratio > 1)


def _keeping_safe_structure(rows: list[dict[str, Any]]) -> Structure:
    sums: list[Sum] = []
    shares: list[Share] = []
    for i in range(len(rows)):
        for side in ("desist_", "safe_"):
            _yes_of(rows, i, side, CellRef(i, f"{side}base"), sums, shares)
    return Structure(tuple(sums), tuple(shares))


def group_comparison_table(head: TableHead, result: Comparison, qs: QuestionSet) -> ReportTable:
    """Each key question's yes rate in every level of ``result.by`` (three or more groups:
    lead agencies, sites), the omnibus test, and the pairs of levels that differ."""
    # A level no case answered (a lead agency absent from these inspections) has no column.
    levels = [lv for lv in result.levels if any(r.groups[lv].n for r in result.rows)]
    absent = [level_label(result.by, lv) for lv in result.levels if lv not in levels]
    rows: list[dict[str, Any]] = []
    sums: list[Sum] = []
    shares: list[Share] = []
    for r in result.rows:
        row: dict[str, Any] = {"question_id": r.question_id,
                               "standard": qs.question(r.question_id).section_title
                               if r.question_id in qs else r.section,
                               "question": _without_prefix(r.label),
                               "test": r.test, "p": r.p_value, "p_adjusted": r.p_adjusted,
                               "pairs": "; ".join(_pairs_that_differ(r, result)) or "none"}
        for lv in levels:
            g = r.groups[lv]
            # The yes behind each percentage, never printed: disclosure control needs it.
            row.update({f"{lv}_pct": g.pct, f"{lv}_n": g.n, f"{lv}_yes": g.yes})
        rows.append(row)
    for i in range(len(rows)):
        for lv in levels:
            _yes_of(rows, i, f"{lv}_", CellRef(i, f"{lv}_n"), sums, shares, count="yes")
    shown = tuple(f"{lv}_pct" for lv in levels)  # a test or a pair gives a percentage back
    columns: list[Column] = [Column("standard", "Standard"), Column("question", "Question")]
    for lv in levels:
        name = level_label(result.by, lv)
        columns += [Column(f"{lv}_pct", "%", "pct", name),
                    Column(f"{lv}_n", "Number", "count", name, suppressible=True)]
    columns += [Column("p", "p", "p", follows=shown),
                Column("p_adjusted", "p (adjusted)", "p", follows=shown),
                Column("pairs", "Pairs that differ", follows=shown)]
    tests = sorted({r.test for r in result.rows if r.test})
    return replace(_table(
        head, columns=tuple(columns), rows=tuple(rows),
        tests=tuple(tests),  # no base line: each group's n is in its own column
        notes=(
            "Percentages of the cases where the question applied (n). p: one test across "
            "all the groups (Pearson's chi-square where every expected count is at least 5, "
            "otherwise a Monte Carlo p from random tables with the same margins), adjusted "
            f"across the questions with {_correction_words(result.correction)}.",
            "Pairs that differ: each pair of groups tested as two groups are (chi-square or "
            "Fisher's exact test), p adjusted with Holm's method within the question; the "
            f"group with the higher yes rate first; alpha = {result.alpha:g}.",
            *([f"No case of {', '.join(absent)} answered these questions."] if absent else []),
        ),
        structure=Structure(tuple(sums), tuple(shares))), landscape=len(levels) > 3)


def _pairs_that_differ(row: ComparisonRow, result: Comparison) -> list[str]:
    """Holm-adjusted pairs; with two groups, the one pair is the question's own test."""
    if len(result.levels) > 2 or not row.significant or row.diff_pp is None:
        return significant_pairs(row, result.by)
    first, second = result.levels
    high, low = (first, second) if row.diff_pp > 0 else (second, first)
    return [f"{level_label(result.by, high)} > {level_label(result.by, low)} "
            f"(p adj. {format_p(row.p_adjusted)})"]


def iom_comparison_table(head: TableHead, result: Comparison, qs: QuestionSet) -> ReportTable:
    """Figure 5.2: IOM against non-IOM cases, with tests and independent effects."""
    rows: list[dict[str, Any]] = []
    styles: list[dict[str, str]] = []
    for r in result.rows:
        non, iom = r.groups.get("non_iom"), r.groups.get("iom")
        effect = r.independent_effect
        independent = independent_effect_shown(effect, result.alpha)
        rows.append({
            "standard": qs.question(r.question_id).section_title
            if r.question_id in {q.id for q in qs.questions} else r.section,
            "question_id": r.question_id, "question": _without_prefix(r.label),
            "non_iom_pct": non.pct if non else None, "non_iom_n": non.n if non else None,
            "iom_pct": iom.pct if iom else None, "iom_n": iom.n if iom else None,
            "diff_pp": r.diff_pp, "test": r.test, "p": r.p_value, "p_adjusted": r.p_adjusted,
            "significant": r.significant,
            "effect_or": effect.odds_ratio if effect else None,
            "effect_p": effect.p if effect else None,
            "effect_status": effect.status if effect else None,
            "effect_used": list(effect.used) if effect else None,
            "effect_dropped": list(effect.dropped) if effect else None,
            "independent_effect": independent,
            # The chart's bar label: the question's short label (never its id), marked as
            # the table shades it, so that a greyscale print keeps the mark.
            "label": (qs.question(r.question_id).label if r.question_id in qs
                      else _without_prefix(r.label)) + (" †" if independent else ""),
            **_effect_sizes(r),
            # The counts behind the percentages, never printed: disclosure control needs them.
            "non_iom_yes": non.yes if non else None, "iom_yes": iom.yes if iom else None,
        })
        styles.append({"iom_pct": SHADE, "iom_n": SHADE} if independent else {})
    s = result.summary
    mean_pct = getattr(s, "mean_pct", {}) or {}
    average = ", ".join(f"{group_label(lv)} {format_pct(p)}" for lv, p in mean_pct.items()
                        if p is not None)
    pooled = ", ".join(f"{group_label(lv)} {format_pct(p)}"
                       for lv, p in s.pooled.items() if p is not None)
    tests = sorted({r.test for r in result.rows if r.test})
    notes = [
        f"Percentages of the cases where the question applied (n). Mean difference over the "
        f"{s.basis} questions: {format_pp(s.mean_diff_pp)} percentage points; judged positively on "
        f"average over those questions: {average} (all their judgements pooled: {pooled})."
        if s.mean_diff_pp is not None else
        "No difference could be computed.",
        # Which test each row used is said by the "Test used" note (audit.report.text),
        # from the rows themselves, so the two can never disagree.
        f"p adjusted with {_correction_words(result.correction)}; significance at alpha = "
        f"{result.alpha:g}.",
        *effect_notes(result),
        *_effect_size_notes(result),
        *_pairs_notes(result),
    ]
    both = ("non_iom_pct", "iom_pct")  # a difference or a test gives a percentage back
    return _table(
        head, columns=(Column("standard", "Standard"), Column("question", "Question"),
                 Column("non_iom_pct", "%", "pct", "Non-IOM cases"),
                 Column("non_iom_n", "Number", "count", "Non-IOM cases", suppressible=True),
                 Column("iom_pct", "%", "pct", "IOM cases"),
                 Column("iom_n", "Number", "count", "IOM cases", suppressible=True),
                 Column("diff_pp", "Difference (pp)", "pp", follows=both),
                 Column("p", "p", "p", follows=both),
                 Column("p_adjusted", "p (adjusted)", "p", follows=both),
                 *effect_size_columns(both)),
        structure=_comparison_structure(rows),
        rows=tuple(rows), row_styles=tuple(styles),
        base={lv: max((r.groups[lv].n for r in result.rows), default=0)
              for lv in result.levels},
        tests=tuple(tests), notes=tuple(notes),
        chart=Chart("diff", "label", (("diff_pp", "Difference, IOM minus non-IOM"),),
                    title="IOM minus non-IOM cases judged sufficient (percentage points, "
                          "with 95% intervals)", interval=("diff_low", "diff_high")))


# Beside every two-group p: the workbook, JSON and Markdown carry them; the PDF page keeps
# the published columns (`Column.pdf`).
_EFFECTS = "Effect sizes, first group vs second"


def effect_size_columns(follows: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """The effect-size columns; each is hidden with the percentages it ``follows`` (an odds
    ratio or an interval gives a suppressed count back as surely as the percentage)."""
    specs: tuple[tuple[str, str, ColumnKind], ...] = (
        ("diff_low", "Difference 95% CI low", "pp"),
        ("diff_high", "Difference 95% CI high", "pp"),
        ("odds_ratio", "Odds ratio", "ratio"),
        ("or_low", "OR 95% CI low", "ratio"),
        ("or_high", "OR 95% CI high", "ratio"),
        ("risk_ratio", "Risk ratio", "ratio"),
        ("rr_low", "RR 95% CI low", "ratio"),
        ("rr_high", "RR 95% CI high", "ratio"),
        ("cohens_h", "Cohen's h", "ratio"))
    return tuple(Column(cid, label, kind, _EFFECTS, pdf=False, follows=follows)
                 for cid, label, kind in specs)


def _effect_sizes(row: ComparisonRow) -> dict[str, Any]:
    """The two-group effect sizes of a comparison row, intervals split into their ends."""
    def ends(ci: tuple[float, float] | None) -> tuple[float | None, float | None]:
        return (None, None) if ci is None else ci

    diff_low, diff_high = ends(row.diff_ci)
    or_low, or_high = ends(row.or_ci)
    rr_low, rr_high = ends(row.rr_ci)
    return {"diff_low": diff_low, "diff_high": diff_high, "odds_ratio": row.odds_ratio,
            "or_low": or_low, "or_high": or_high, "risk_ratio": row.risk_ratio,
            "rr_low": rr_low, "rr_high": rr_high, "cohens_h": row.cohens_h}


def _effect_size_notes(result: Comparison) -> list[str]:
    if len(result.levels) != 2:
        return []
    return ["Effect sizes (in the workbook): difference with Newcombe's hybrid score "
            "interval; sample odds ratio with Woolf's interval; risk ratio (yes rate over yes "
            "rate) with the log (Katz) interval; Cohen's h = 2 asin √p1 − 2 asin √p2 "
            "(0.2 small, 0.5 medium, 0.8 large). No odds-ratio interval where a count is "
            "zero, no risk-ratio interval where a group has no yes."]


def _pairs_notes(result: Comparison) -> list[str]:
    """With three or more groups: the pairs that differ, question by question."""
    if len(result.levels) <= 2:
        return []
    found = [f"{r.question_id}: " + "; ".join(pairs) for r in result.rows
             if (pairs := significant_pairs(r, result.by))]
    head = ("Pairs of groups that differ (each pair tested as two groups are; p adjusted "
            f"with Holm's method within each question; alpha {result.alpha:g})")
    return [head + (": " + ". ".join(found) + "." if found else ": none.")]


def effect_notes(result: Comparison) -> list[str]:
    """What the regressions behind the shading controlled for, as they were fitted.

    Names the covariates actually in the models (labels, not codes), and says which were
    left out for which questions and why, so the note never claims an adjustment that a
    model did not make.
    """
    effects = [(r.question_id, r.independent_effect) for r in result.rows
               if r.independent_effect is not None]
    fitted = [(qid, e) for qid, e in effects if e.fitted]
    if not effects:
        return []
    if not fitted:
        return ["No logistic regression of IOM status could be fitted (see the JSON "
                "output for each question's reason); nothing is shaded."]
    # Covariates in every fitted model, in the order asked for.
    asked = list(result.covariates) or list(fitted[0][1].used)
    everywhere = [c for c in asked if all(c in e.used for _, e in fitted)]
    notes = ["Shaded (†): IOM status had an independent positive effect (p < "
             f"{result.alpha:g}) in a logistic regression controlling for "
             f"{covariate_words(everywhere)}."]
    for c in asked:
        if c in everywhere:
            continue
        left_out = [qid for qid, e in fitted if c not in e.used]
        if not left_out:
            continue
        why = ("it had one level only among the cases answering"
               if all(c in e.dropped for qid, e in fitted if qid in left_out)
               else "it was not in the data")
        notes.append(f"{_label(c)[:1].upper() + _label(c)[1:]} was left out of the model for "
                     f"{_question_words(left_out)}: {why}.")
    few = [qid for qid, e in fitted if e.status == "too_few_events"]
    if few:
        notes.append(f"Fewer than 10 events per parameter for {_question_words(few)}: the "
                     "regression estimate may be biased and its interval too narrow.")
    unfitted = [qid for qid, e in effects if not e.fitted]
    if unfitted:
        notes.append(f"No regression could be fitted for {_question_words(unfitted)} "
                     "(separation or too little data); those rows are never shaded.")
    return notes


def _question_words(ids: Sequence[str]) -> str:
    return ("question " if len(ids) == 1 else "questions ") + ", ".join(ids)


def _comparison_structure(rows: list[dict[str, Any]]) -> Structure:
    sums: list[Sum] = []
    shares: list[Share] = []
    for i, row in enumerate(rows):
        for side in ("non_iom_", "iom_"):
            if row.get(f"{side}yes") is not None:
                _yes_of(rows, i, side, CellRef(i, f"{side}n"), sums, shares, count="yes")
    return Structure(tuple(sums), tuple(shares))


def _without_prefix(label: str) -> str:
    """'Assessment: engaging the service user' -> 'Engaging the service user'."""
    head, sep, tail = label.partition(": ")
    return tail[:1].upper() + tail[1:] if sep and len(head) < 30 else label


def _correction_words(correction: str) -> str:
    return {"holm": "Holm's method", "bh": "the Benjamini-Hochberg procedure"}.get(
        correction, "no correction")


def _label(covariate: str) -> str:
    """A covariate's label for prose: 'Lead agency' -> 'lead agency' (acronyms kept)."""
    if covariate not in PROFILE:
        return covariate
    label = PROFILE[covariate].label
    first = label.split(" ", 1)[0]
    return label if first.isupper() and len(first) > 1 else label[:1].lower() + label[1:]


def covariate_words(covariates: Sequence[str]) -> str:
    words = [_label(c) for c in covariates]
    if not words:
        return "no other case characteristic"
    return ", ".join(words[:-1]) + (" and " if len(words) > 1 else "") + words[-1]


def _rating_cells(lowest: tuple[float, str] | None, standard_questions: list[tuple[int, int]],
                  rules: Ratings) -> dict[str, Any]:
    """Rating, lowest percentage and the yes answers it takes to reach the next band.

    To rise a band, every key question of the standard below the next band's threshold
    must reach it (the lowest one rules), so the count adds up each one's shortfall,
    computed exactly on the rounded percentage (`audit.rating_rules.yes_to_reach`).
    """
    if lowest is None:
        return {"rating": None, "pct": None, "question": None, "to_next": None,
                "next": None}
    upper = next_band(lowest[0], rules)
    to_next: int | None = None
    if upper is not None:
        needs = [yes_to_reach(yes, n, upper[1], rules) for yes, n in standard_questions]
        to_next = None if any(k is None for k in needs) else sum(k for k in needs if k)
    return {"rating": rating_for(lowest[0], rules), "pct": lowest[0], "question": lowest[1],
            "to_next": to_next, "next": upper[0] if upper else None}


def standard_ratings_table(head: TableHead, qs: QuestionSet, counts: pd.DataFrame,
                           rules: Ratings | None = None) -> ReportTable:
    """Each standard rated per site and per provider: the lowest-scoring key question rules.

    `counts` has columns unit_type, inspection, unit, question_id, value, count. `rules`
    default to the question set's (``ratings:`` in its YAML).
    """
    rules = rules or qs.ratings
    standards = [s for s in qs.sections if any(q.key for q in s.questions)]
    shares: list[Share] = []
    rows: list[dict[str, Any]] = []
    styles: list[dict[str, str]] = []
    blocks = [(inspection, unit_type, title)
              for inspection in sorted(counts["inspection"].unique())
              for unit_type, title in (("site", "by site"), ("provider", "by lead agency"))]
    for inspection, unit_type, title in blocks:
        part = counts[(counts["unit_type"] == unit_type) & (counts["inspection"] == inspection)]
        if part.empty:
            continue
        rows.append({"unit": f"{inspection}: {title}"})
        styles.append({WHOLE_ROW: HEADING})
        for unit in sorted(part["unit"].dropna().unique()):
            mine = part[part["unit"] == unit]
            tallies = mine.groupby(["question_id", "value"])["count"].sum().to_dict()
            label = (PROFILE["provider"].label_of(unit) if unit_type == "provider" else unit)
            row: dict[str, Any] = {"unit": label, "inspection": inspection,
                                   "unit_type": unit_type}
            for s in standards:
                lowest: tuple[float, str] | None = None
                answered_key: list[tuple[int, int]] = []
                for q in s.questions:
                    if not q.key:
                        continue
                    base = sum(int(tallies.get((q.id, v), 0)) for v in YES_NO)
                    yes = int(tallies.get((q.id, "yes"), 0))
                    p = pct(yes, base)
                    if p is None:
                        continue
                    answered_key.append((yes, base))
                    if lowest is None or p < lowest[0]:
                        lowest = (p, q.id)
                        # Yes and base of the lowest question, never printed, for disclosure.
                        row[f"{s.id}_yes"], row[f"{s.id}_base"] = yes, base
                for key, value in _rating_cells(lowest, answered_key, rules).items():
                    row[f"{s.id}_{key}"] = value
                if lowest is not None:
                    shares.append(Share(CellRef(len(rows), f"{s.id}_pct"),
                                        CellRef(len(rows), f"{s.id}_yes"),
                                        CellRef(len(rows), f"{s.id}_base")))
            rows.append(row)
            styles.append({})
    pct_kind: ColumnKind = "pct" if rules.decimals == 0 else "pct1"
    columns = [Column("unit", "Site / lead agency")]
    for s in standards:
        columns += [Column(f"{s.id}_rating", "Rating", "rating", s.title,
                           follows=(f"{s.id}_pct",)),
                    Column(f"{s.id}_pct", "Lowest %", pct_kind, s.title)]
    # The rows also hold <standard>_to_next and _next (in the JSON); a portrait page has no
    # room for them here, so `rating_gaps_table` shows them beside this table.
    return _table(
        head, columns=tuple(columns), rows=tuple(rows), row_styles=tuple(styles),
        structure=Structure(shares=tuple(shares)), notes=(ratings_rule_words(rules),))


def rating_gaps_table(head: TableHead, ratings: ReportTable, qs: QuestionSet,
                      rules: Ratings | None = None) -> ReportTable:
    """Per rating of `standard_ratings_table` (built with the same `rules`): the next
    rating and the yes answers it needs."""
    standards = [s for s in qs.sections if any(q.key for q in s.questions)
                 and any(f"{s.id}_rating" in r for r in ratings.rows)]
    keys = ["unit", "inspection", "unit_type"]
    # The lowest percentage, its yes and its base ride along unprinted: a count needed to
    # reach a band is computed from them, so disclosure control hides it with them.
    kept = ("next", "to_next", "rating", "pct", "yes", "base")
    rows = tuple({k: v for k, v in r.items()
                  if k in keys or any(k == f"{s.id}_{part}" for s in standards for part in kept)}
                 for r in ratings.rows)
    shares = tuple(Share(CellRef(i, f"{s.id}_pct"), CellRef(i, f"{s.id}_yes"),
                         CellRef(i, f"{s.id}_base"))
                   for i, r in enumerate(rows) for s in standards
                   if r.get(f"{s.id}_pct") is not None)
    columns = [Column("unit", "Site / lead agency")]
    for s in standards:
        columns += [Column(f"{s.id}_next", "Next rating", "rating", s.title,
                           follows=(f"{s.id}_pct",)),
                    Column(f"{s.id}_to_next", "Yes needed", "count", s.title,
                           follows=(f"{s.id}_pct",))]
    return _table(
        head, columns=tuple(columns), rows=rows, row_styles=ratings.row_styles,
        structure=Structure(shares=shares),
        notes=("Yes needed: how many more of the cases already answered would have to be "
               "judged sufficient (yes instead of no) for the standard to reach the next "
               "rating of Figure " + ratings.figure + ", adding up every key question below "
               "that rating's threshold (a standard takes the rating of its lowest key "
               "question). " + ratings_rule_words(rules or qs.ratings),))


def ratings_rule_words(rules: Ratings) -> str:
    """The rating rule in words, for the table's note and the methods page."""
    bands = ", ".join(f"{format_pct(t, decimals=rules.decimals)} or more {r}"
                      for r, t in rules.bands)
    places = "whole percentage" if rules.decimals == 0 else "percentage to one decimal"
    return (f"Each standard takes the rating of its lowest-scoring key question: {bands}; "
            f"below that {rules.below}. The rating is judged on the {places} as printed "
            "(rounded half up), so it always agrees with the number shown.")


#: The reliability statistics: JSON id and the heading that spans its value and interval.
_RELIABILITY_STATISTICS = (("kappa", "Cohen's kappa"), ("pabak", "PABAK"),
                           ("ac1", "Gwet's AC1"), ("alpha", "Krippendorff's alpha"))


def _clipped(interval: tuple[float, float] | None) -> tuple[float, float] | None:
    # A Wald interval can pass the ends of kappa's range; the range is the bound.
    return None if interval is None else (max(interval[0], -1.0), min(interval[1], 1.0))


def reliability_table(head: TableHead, result: Reliability, *,
                      self_pairs: int = 0) -> ReportTable:
    """Inter-rater agreement between primary and QA ratings, per question and overall:
    prevalence, agreement, Cohen's kappa, PABAK, Gwet's AC1 and Krippendorff's alpha, each
    with a 95% interval; `self_pairs` cases were left out (`audit.qa_rules`) and the
    note says so.  Rows keep the statistics' reasons for a missing value (``reasons``)."""
    rows = []
    styles = []
    for r in (*result.rows, result.overall):
        kappa_ci = _clipped(r.kappa_ci)
        row: dict[str, Any] = {
            "question": "All key questions" if r.question_id == "overall" else r.label,
            "question_id": r.question_id, "pairs": r.n_pairs,
            "prevalence_answer": r.prevalence_category, "prevalence": r.prevalence,
            "agreement": r.agreement, "agreement_ci": r.agreement_ci,
            "kappa": r.kappa, "kappa_ci": kappa_ci,
            # the earlier columns, kept for scripts that read them
            "kappa_low": kappa_ci[0] if kappa_ci else None,
            "kappa_high": kappa_ci[1] if kappa_ci else None,
            "status": r.status, "reasons": dict(r.reasons)}
        for name, _ in _RELIABILITY_STATISTICS[1:]:
            row[name], row[f"{name}_ci"] = getattr(r, name), getattr(r, f"{name}_ci")
        rows.append(row)
        styles.append({WHOLE_ROW: BOLD} if r.question_id == "overall" else {})
    columns = [Column("question", "Question"),
               Column("pairs", "Pairs rated twice", "count"),
               Column("prevalence_answer", "Answer", group="Prevalence"),
               Column("prevalence", "% of ratings", "pct", group="Prevalence"),
               Column("agreement", "%", "pct", group="Agreement"),
               Column("agreement_ci", "95% CI", "pct", group="Agreement")]
    for name, heading in _RELIABILITY_STATISTICS:
        columns += [Column(name, "Value", "ratio", group=heading),
                    Column(f"{name}_ci", "95% CI", "ratio", group=heading)]
    methods = result.overall.methods
    # The number of self-pairs left out, kept (never printed) so that a small one is
    # reworded by disclosure control.
    rows[-1]["self_pairs"] = self_pairs
    excluded = NoteCount(qa_rules.SELF_PAIR_TEMPLATE, CellRef(len(rows) - 1, "self_pairs"))
    return ReportTable(
        id=head.id, figure=head.figure, caption=head.caption, section=head.section,
        columns=tuple(columns), rows=tuple(rows), row_styles=tuple(styles),
        base={"Cases rated twice": result.n_cases}, landscape=True,
        notes=(
            "Cases rated blind by a second inspector (QA). Prevalence is the share of all "
            "ratings (both inspectors) that gave the commonest answer, shown beside it. Where "
            "it is high, "
            "kappa and alpha can be low although nearly every pair agrees (the prevalence "
            "paradox); PABAK and AC1 are built to resist it. Kappa 0.61-0.80 is usually "
            "read as substantial agreement, above 0.80 as almost perfect.",
            "Intervals: agreement, " + methods.get("agreement_ci", "Wilson") + "; kappa, "
            + methods.get("kappa_ci", "Wald") + ", bounded to -1..1; PABAK, "
            + methods.get("pabak_ci", "from agreement") + "; AC1 and alpha, "
            + methods.get("ac1_ci", "bootstrap") + ". The overall row pools the pairs of "
            "every key question: its bootstrap resamples whole cases, while the Wilson and "
            "kappa intervals treat the pooled pairs as independent.",
            "Shown as –: kappa, PABAK, AC1 and alpha where every pair gives one and the "
            "same answer (chance-corrected agreement is 0/0); the kappa interval where its "
            "standard error is 0 (perfect agreement, or one inspector giving one answer "
            "throughout); the AC1 and alpha intervals where every pair agrees or where "
            "some bootstrap resamples hold one answer only, so that the coefficient is "
            "0/0 there. The JSON output gives the reason for each.",
            qa_rules.self_pair_note(self_pairs)),
        structure=Structure(note_counts=(excluded,) if self_pairs else ()))
