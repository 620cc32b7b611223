"""Each numbered table of the thematic report, built from counts and statistics.

Rows hold raw numbers (unrounded percentages, exact counts); the renderers format and
suppress. Percentages are of the cases answering the question (the base), never of the
whole sample, as in the published report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from audit import qa_rules
from audit.formatting import format_count, format_pct, format_pp
from audit.rating_rules import next_band, rating_for, yes_to_reach
from audit.report.model import (
    BOLD,
    HEADING,
    SHADE,
    WHOLE_ROW,
    Chart,
    Column,
    ColumnKind,
    ReportTable,
)
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
           row_styles: tuple[dict[str, str], ...] = ()) -> ReportTable:
    return ReportTable(id=head.id, figure=head.figure, caption=head.caption,
                       section=head.section, columns=columns, rows=rows, notes=notes,
                       base=base if base is not None else {}, tests=tests, chart=chart,
                       row_styles=row_styles)


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
        rows.append({"item": spec.label, "n": None, "pct": None})
        styles.append({WHOLE_ROW: HEADING})
        counts = values.value_counts()
        for value, label in spec.codes.items():
            if value in unknown_codes:
                continue
            n = int(counts.get(value, 0))
            rows.append({"item": label, "n": n, "pct": pct(n, known)})
            styles.append({})
        if known < total:
            rows.append({"item": NOT_KNOWN, "n": total - known, "pct": None})
            styles.append({})
    return _table(
        head, columns=(Column("item", "Characteristic"), *_count_pct_columns("")),
        rows=tuple(rows), row_styles=tuple(styles), base={sample.label: total},
        notes=(f"{sample.label}: {format_count(total)} cases. Percentages are of the cases "
               "where the characteristic was known.",))


def index_offence_table(head: TableHead, cases: pd.DataFrame, sample: Sample) -> ReportTable:
    """Figure 4.7: index offences of the sample."""
    spec = PROFILE["index_offence"]
    values = cases["index_offence"]
    known = int(values.notna().sum())
    counts = values.value_counts()
    rows = [{"offence": label, "n": int(counts.get(code, 0)),
             "pct": pct(int(counts.get(code, 0)), known)}
            for code, label in spec.codes.items() if int(counts.get(code, 0)) > 0]
    rows.append({"offence": "Total", "n": known, "pct": pct(known, known)})
    styles: list[dict[str, str]] = [{} for _ in rows[:-1]] + [{WHOLE_ROW: BOLD}]
    notes = [f"Percentages of the {format_count(known)} cases whose index offence is known."]
    if known < len(values):
        notes.append(f"Index offence not known in {format_count(len(values) - known)} case(s).")
    return _table(
        head, columns=(Column("offence", "Index offence"), *_count_pct_columns("")),
        rows=tuple(rows), row_styles=tuple(styles), base={sample.label: known},
        notes=tuple(notes),
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
    rows = []
    for _, label, qid in factors:
        row: dict[str, Any] = {"factor": label}
        for s in samples:
            yes = count_of(counts[s.id], qid, "yes")
            row[f"{s.id}_n"] = yes
            row[f"{s.id}_pct"] = pct(yes, answered(counts[s.id], qid, YES_NO))
        rows.append(row)
    series = tuple((f"{s.id}_pct", s.label) for s in samples)
    return _table(
        head, columns=tuple(columns), rows=tuple(rows), base=base,
        notes=tuple(f"{label}: percentages of the {format_count(n)} cases assessed." for label, n in
                    base.items()),
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
    chart_rows = []
    for i, (_, label, qid) in enumerate(factors):
        rows.append({"answer": f"{chr(ord('a') + i)}) {label}"})
        styles.append({WHOLE_ROW: HEADING})
        for value, text in (("yes", "Yes"), ("no", "No")):
            row: dict[str, Any] = {"answer": text, "factor": label}
            for s in samples:
                n = count_of(counts[s.id], qid, value)
                row[f"{s.id}_n"] = n
                row[f"{s.id}_pct"] = pct(n, answered(counts[s.id], qid, YES_NO))
            rows.append(row)
            styles.append({})
        chart_rows.append(label)
    return _table(
        head, columns=tuple(columns), rows=tuple(rows), row_styles=tuple(styles),
        base={s.label: max((answered(counts[s.id], q, YES_NO) for _, _, q in factors),
                           default=0) for s in samples},
        notes=("Asked only where the factor was linked to offending; percentages are of "
               "those cases.",))


def yes_no_table(head: TableHead, qs: QuestionSet, question_id: str, sample: Sample,
                 counts: pd.DataFrame) -> ReportTable:
    """A single yes/no question as a small table with its bar (Figures 4.2, 4.4, 4.5)."""
    q = qs.question(question_id)
    base = answered(counts, question_id, YES_NO)
    rows = [{"answer": label, "n": count_of(counts, question_id, code),
             "pct": pct(count_of(counts, question_id, code), base)}
            for code, label in (("yes", "Yes"), ("no", "No"))]
    na = count_of(counts, question_id, "na")
    notes = [f"{q.text} Base: {format_count(base)} cases answering yes or no."]
    if na:
        notes.append(f"Not applicable in {format_count(na)} case(s), excluded from the base.")
    return _table(
        head, columns=(Column("answer", "Answer"), *_count_pct_columns("")),
        rows=tuple(rows), base={sample.label: base}, notes=tuple(notes),
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
    return _table(
        head, columns=(Column("question", "Question"),
                 Column("yes", "Yes", "count", suppressible=True),
                 Column("n", "Of (applicable)", "count"),
                 Column("pct", "Percentage", "pct", suppressible=True, count_of="yes"),
                 Column("na", "Not applicable", "count")),
        rows=tuple(rows), base={sample.label: max((r["n"] for r in rows), default=0)},
        notes=("Of: cases where the question applied and was answered yes or no.",),
        chart=Chart("hbar", "question", (("pct", sample.label),), title="% yes"))


def choice_table(head: TableHead, qs: QuestionSet, question_ids: Sequence[str],
                 sample: Sample, counts: pd.DataFrame) -> ReportTable:
    """Answers to choice and yes/no questions, a block per question (Figure 5.1)."""
    rows: list[dict[str, Any]] = []
    styles: list[dict[str, str]] = []
    for qid in question_ids:
        q = qs.question(qid)
        codes = [c for c in q.codes if c != "na"]
        base = answered(counts, qid, codes)
        rows.append({"answer": q.text})
        styles.append({WHOLE_ROW: HEADING})
        for code in codes:
            n = count_of(counts, qid, code)
            rows.append({"answer": q.codes[code], "n": n, "pct": pct(n, base),
                         "question_id": qid, "code": code})
            styles.append({})
    return _table(
        head, columns=(Column("answer", "Answer"), *_count_pct_columns("")),
        rows=tuple(rows), row_styles=tuple(styles),
        base={sample.label: answered(counts, question_ids[0],
                                     [c for c in qs.question(question_ids[0]).codes if c != "na"])},
        notes=("Frequency and seriousness were asked only of those who reoffended.",))


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
                 Column("desist_base", "Of", "count", "Reducing reoffending"),
                 Column("desist_pct", "%", "pct", "Reducing reoffending", True, "desist_n"),
                 Column("safe_n", "Yes", "count", "Keeping people safe", True),
                 Column("safe_base", "Of", "count", "Keeping people safe"),
                 Column("safe_pct", "%", "pct", "Keeping people safe", True, "safe_n")),
        rows=tuple(rows), base={sample.label: max(r["desist_base"] for r in rows)},
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
            **_effect_sizes(r),
        })
        styles.append({"iom_pct": SHADE, "iom_n": SHADE} if independent else {})
    s = result.summary
    names = {"iom": "IOM", "non_iom": "non-IOM"}
    mean_pct = getattr(s, "mean_pct", {}) or {}
    average = ", ".join(f"{names.get(lv, lv)} {format_pct(p)}" for lv, p in mean_pct.items()
                        if p is not None)
    pooled = ", ".join(f"{names.get(lv, lv)} {format_pct(p)}"
                       for lv, p in s.pooled.items() if p is not None)
    tests = sorted({r.test for r in result.rows if r.test})
    notes = [
        f"Percentages of the cases where the question applied (n). Mean difference over the "
        f"{s.basis} questions: {format_pp(s.mean_diff_pp)} percentage points; judged positively on "
        f"average over those questions: {average} (all their judgements pooled: {pooled})."
        if s.mean_diff_pp is not None else
        "No difference could be computed.",
        f"Chi-square test without continuity correction, or Fisher's exact test where an "
        f"expected count is below 5; p adjusted with {_correction_words(result.correction)}; "
        f"significance at alpha = {result.alpha:g}.",
        *effect_notes(result),
        *_effect_size_notes(result),
        *_pairs_notes(result),
    ]
    return _table(
        head, columns=(Column("standard", "Standard"), Column("question", "Question"),
                 Column("non_iom_pct", "%", "pct", "Non-IOM cases"),
                 Column("non_iom_n", "Number", "count", "Non-IOM cases"),
                 Column("iom_pct", "%", "pct", "IOM cases"),
                 Column("iom_n", "Number", "count", "IOM cases"),
                 Column("diff_pp", "Difference (pp)", "pp"),
                 Column("p", "p", "p"), Column("p_adjusted", "p (adjusted)", "p"),
                 *EFFECT_SIZE_COLUMNS),
        rows=tuple(rows), row_styles=tuple(styles),
        base={lv: max((r.groups[lv].n for r in result.rows), default=0)
              for lv in result.levels},
        tests=tuple(tests), notes=tuple(notes),
        chart=Chart("grouped_hbar", "chart_label", (("non_iom_pct", "Non-IOM cases"),
                                                    ("iom_pct", "IOM cases")),
                    title="Judged sufficient (% of relevant cases)"))


# Beside every two-group p: the workbook, JSON and Markdown carry them; the PDF page keeps
# the published columns (`Column.pdf`).
_EFFECTS = "Effect sizes, first group vs second"
EFFECT_SIZE_COLUMNS = (
    Column("diff_low", "Difference 95% CI low", "pp", _EFFECTS, pdf=False),
    Column("diff_high", "Difference 95% CI high", "pp", _EFFECTS, pdf=False),
    Column("odds_ratio", "Odds ratio", "ratio", _EFFECTS, pdf=False),
    Column("or_low", "OR 95% CI low", "ratio", _EFFECTS, pdf=False),
    Column("or_high", "OR 95% CI high", "ratio", _EFFECTS, pdf=False),
    Column("risk_ratio", "Risk ratio", "ratio", _EFFECTS, pdf=False),
    Column("rr_low", "RR 95% CI low", "ratio", _EFFECTS, pdf=False),
    Column("rr_high", "RR 95% CI high", "ratio", _EFFECTS, pdf=False),
    Column("cohens_h", "Cohen's h", "ratio", _EFFECTS, pdf=False),
)


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
                for key, value in _rating_cells(lowest, answered_key, rules).items():
                    row[f"{s.id}_{key}"] = value
            rows.append(row)
            styles.append({})
    pct_kind: ColumnKind = "pct" if rules.decimals == 0 else "pct1"
    columns = [Column("unit", "Site / lead agency")]
    for s in standards:
        columns += [Column(f"{s.id}_rating", "Rating", "rating", s.title),
                    Column(f"{s.id}_pct", "Lowest %", pct_kind, s.title)]
    # The rows also hold <standard>_to_next and _next (in the JSON); a portrait page has no
    # room for them here, so `rating_gaps_table` shows them beside this table.
    return _table(
        head, columns=tuple(columns), rows=tuple(rows), row_styles=tuple(styles),
        notes=(ratings_rule_words(rules),))


def rating_gaps_table(head: TableHead, ratings: ReportTable, qs: QuestionSet,
                      rules: Ratings | None = None) -> ReportTable:
    """Per rating of `standard_ratings_table` (built with the same `rules`): the next
    rating and the yes answers it needs."""
    standards = [s for s in qs.sections if any(q.key for q in s.questions)
                 and any(f"{s.id}_rating" in r for r in ratings.rows)]
    keys = ["unit", "inspection", "unit_type"]
    rows = tuple({k: v for k, v in r.items()
                  if k in keys or any(k in (f"{s.id}_next", f"{s.id}_to_next", f"{s.id}_rating")
                                      for s in standards)}
                 for r in ratings.rows)
    columns = [Column("unit", "Site / lead agency")]
    for s in standards:
        columns += [Column(f"{s.id}_next", "Next rating", "rating", s.title),
                    Column(f"{s.id}_to_next", "Yes needed", "count", s.title)]
    return _table(
        head, columns=tuple(columns), rows=rows, row_styles=ratings.row_styles,
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
            qa_rules.self_pair_note(self_pairs)))
