"""Which questions apply to a case: the one owner of applicability.

A question set states each rule (`applies_when`, e.g. "case.case_type == 'post_release'"
or "answers['outcome.reoffended'] == 'yes'"); this module decides, for a case's profile,
site and status and its answers, which questions apply. Every path calls it:

* one case being edited in the app (`applicable`, `applies`, `inapplicable_answers`,
  `missing_required`), through `QuestionSet.applicable`, and `settle`, which also says
  which answers a rule hid earlier now apply again (the app, and every import, keep
  such answers hidden instead of deleting them);
* whole files and samples at once (`inapplicable` for imports, `applicable_mask` for the
  demo), through `applicability`, which evaluates each rule once per distinct
  combination of the values it reads rather than once per case.

Both run the question set's own rule objects in dependency order, and an answer to a
question that does not apply reads as missing in the rules after it, so a file, the
demo and the app always reach the same verdict for the same case.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from question_sets import QuestionSet

if TYPE_CHECKING:  # numpy and pandas load with the first frame: editing one case needs neither
    import numpy as np
    import pandas as pd

Answers = Mapping[str, str | None]


# ----------------------------------------------------------------------------- one case

def rule_case(profile: Mapping[str, Any], site: str | None, status: str) -> dict[str, Any]:
    """What rules read as `case.*`: the profile fields, the site's name and the status.

    Imports give the site by name, so rules on `case.site` hold the same in a file and
    in the app.
    """
    return {**profile, "site": site, "status": status}


def applicable(qs: QuestionSet, case: Mapping[str, Any], answers: Answers) -> dict[str, bool]:
    """Whether each question of the set applies to this case, given these answers."""
    return qs.applicable(case, answers)


def applies(qs: QuestionSet, question_id: str, case: Mapping[str, Any],
            answers: Answers) -> bool:
    """Whether one question applies (KeyError for a question the set does not have)."""
    return qs.applies(question_id, case, answers)


def inapplicable_answers(qs: QuestionSet, case: Mapping[str, Any],
                         answers: Answers) -> list[str]:
    """The questions among `answers`' keys that do not apply (stored rows to hide).

    A key counts even when its value is None: a note kept without an answer is on a
    question too.
    """
    verdicts = qs.applicable(case, answers)
    return [qid for qid in answers if not verdicts.get(qid, True)]


def settle(qs: QuestionSet, case: Mapping[str, Any], shown: Answers,
           hidden: Answers) -> tuple[list[str], list[str]]:
    """Which shown answers a rule now hides, and which hidden ones apply again.

    `shown`: one rater's stored answers (question id -> value; a note without an answer
    is a key with None); `hidden`: the answers rules hid earlier. Rules run dependencies
    first, as in `applicable`: a question that does not apply hides its answer, which
    then reads as missing in the rules after it; a question that applies again with no
    shown answer gets its hidden one back, which the rules after it then read. Returns
    (question ids to hide, question ids to restore), each in rule order.
    """
    effective: dict[str, str | None] = dict(shown)
    to_hide: list[str] = []
    to_restore: list[str] = []
    for qid in qs.rule_order:
        rule = qs.question(qid).rule
        assert rule is not None  # rule_order lists only questions with rules
        if rule.evaluate(case, effective):
            if qid not in shown and qid in hidden:
                effective[qid] = hidden[qid]
                to_restore.append(qid)
        elif qid in effective:
            effective.pop(qid)
            if qid in shown:
                to_hide.append(qid)
    return to_hide, to_restore


def missing_required(qs: QuestionSet, case: Mapping[str, Any], answers: Answers) -> list[str]:
    """Required questions that apply to the case and have no answer, in set order."""
    verdicts = qs.applicable(case, answers)
    return [q.id for q in qs.questions
            if q.required and verdicts.get(q.id, True) and answers.get(q.id) is None]


# -------------------------------------------------------------------------- many cases

def rule_questions(qs: QuestionSet) -> set[str]:
    """Questions with a rule, and those a rule reads: the answers the rules depend on."""
    out: set[str] = set()
    for q in qs.questions:
        if q.rule is not None:
            out.add(q.id)
            out.update(q.rule.question_ids)
    return out


def rule_case_fields(qs: QuestionSet) -> set[str]:
    """Case fields any rule of the set reads (profile fields, `site`, `status`)."""
    return {f for q in qs.questions if q.rule is not None for f in q.rule.case_fields}


def _closure(qs: QuestionSet, wanted: Collection[str]) -> set[str]:
    """The wanted questions and every question whose rule they depend on, transitively."""
    needed: set[str] = set()
    todo = list(wanted)
    while todo:
        qid = todo.pop()
        if qid in needed:
            continue
        needed.add(qid)
        rule = qs.question(qid).rule
        if rule is not None:
            todo.extend(rule.question_ids - needed)
    return needed


def applicability(qs: QuestionSet, n: int, case_columns: Mapping[str, np.ndarray],
                  answers: Mapping[str, np.ndarray], *,
                  only: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """For each question with a rule, whether it applies to each of `n` rows.

    `case_columns` maps case fields to arrays of `n` values and `answers` question ids
    to arrays of `n` answers (None or NaN: missing); absent columns read as missing.
    Rules run in the set's dependency order, and where a question does not apply its
    answer reads as missing in the rules after it, as in `QuestionSet.applicable`.
    With `only`, just those questions and the ones their rules depend on are judged.
    """
    import numpy as np
    import pandas as pd

    needed = _closure(qs, only) if only is not None else None
    masked = dict(answers)
    out: dict[str, np.ndarray] = {}
    for qid in qs.rule_order:
        if needed is not None and qid not in needed:
            continue
        rule = qs.question(qid).rule
        assert rule is not None  # rule_order lists only questions with rules
        inputs = [("case", f) for f in sorted(rule.case_fields)]
        inputs += [("answer", q) for q in sorted(rule.question_ids)]
        codes: list[np.ndarray] = []
        choices: list[list[Any]] = []
        for kind, name in inputs:
            cells = (case_columns if kind == "case" else masked).get(name)
            if cells is None:
                codes.append(np.zeros(n, dtype=np.int64))
                choices.append([None])
                continue
            code, uniques = pd.factorize(np.asarray(cells, dtype=object))  # missing -> -1
            codes.append(code.astype(np.int64) + 1)
            choices.append([None, *uniques])
        verdict = _rule_verdicts(rule, inputs, codes, choices, n)
        out[qid] = verdict
        if qid in masked and not verdict.all():
            hidden = np.array(masked[qid], dtype=object, copy=True)
            hidden[~verdict] = None
            masked[qid] = hidden
    return out


def _rule_verdicts(rule: Any, inputs: list[tuple[str, str]], codes: list[np.ndarray],
                   choices: list[list[Any]], n: int) -> np.ndarray:
    """The rule's verdict per row, evaluated once per distinct combination of inputs."""
    import numpy as np
    import pandas as pd

    key = np.zeros(n, dtype=np.int64)
    for code, options in zip(codes, choices, strict=True):
        if len(options) > 1:
            key = pd.factorize(key * len(options) + code)[0].astype(np.int64)
    combos, first = np.unique(key, return_index=True)
    verdict = np.empty(len(combos), dtype=bool)
    for k, row in enumerate(first.tolist()):
        case: dict[str, Any] = {}
        given: dict[str, Any] = {}
        for (kind, name), code, options in zip(inputs, codes, choices, strict=True):
            (case if kind == "case" else given)[name] = options[code[row]]
        verdict[k] = rule.evaluate(case, given)
    return verdict[np.searchsorted(combos, key)]


def missing_required_many(qs: QuestionSet, case_ids: np.ndarray, answers: pd.DataFrame,
                          profiles: pd.DataFrame | None) -> pd.DataFrame:
    """`missing_required` for many cases at once: (case_id, question_id) of each required
    question that applies to the case and has no answer.

    `answers`: case_id, question_id, value (one rater's stored answers of these cases, at
    least those to required questions and those rules read); `profiles`: the case fields
    rules read, indexed by case id.
    """
    import numpy as np
    import pandas as pd

    ids = np.asarray(case_ids, dtype=np.int64)
    found = [pd.DataFrame(columns=["case_id", "question_id"])]
    if not len(ids):
        return found[0]
    row_of = pd.Index(ids)
    given: dict[str, np.ndarray] = {}
    if not answers.empty:
        rows = row_of.get_indexer(pd.Index(answers["case_id"].to_numpy(dtype=np.int64)))
        keep = rows >= 0
        values = answers["value"].to_numpy(dtype=object)
        for qid, where in pd.Series(np.flatnonzero(keep)).groupby(
                answers["question_id"].to_numpy(dtype=object)[keep]):
            column = np.full(len(ids), None, dtype=object)
            column[rows[where.to_numpy()]] = values[where.to_numpy()]
            given[str(qid)] = column
    fields = {f: profiles[f].reindex(ids).to_numpy(dtype=object)
              for f in rule_case_fields(qs) if profiles is not None and f in profiles}
    verdicts = applicability(qs, len(ids), fields, given)
    for q in qs.questions:
        if not q.required:
            continue
        answer = given.get(q.id)
        missing = np.ones(len(ids), dtype=bool) if answer is None else pd.isna(answer)
        missing &= verdicts.get(q.id, np.ones(len(ids), dtype=bool))
        if missing.any():
            found.append(pd.DataFrame({"case_id": ids[missing], "question_id": q.id}))
    return pd.concat(found, ignore_index=True)


def applicable_mask(qs: QuestionSet, question_id: str, cases: pd.DataFrame,
                    answers: Mapping[str, np.ndarray]) -> np.ndarray:
    """Whether one question applies to each case of a frame (profile columns) given the
    answers generated so far (question id -> array, None where unanswered)."""
    import numpy as np

    if qs.question(question_id).rule is None:
        return np.ones(len(cases), dtype=bool)
    columns = {f: cases[f].to_numpy(dtype=object) for f in rule_case_fields(qs)
               if f in cases.columns}
    return applicability(qs, len(cases), columns, answers, only=[question_id])[question_id]


def inapplicable(qs: QuestionSet, answers: pd.DataFrame,
                 profiles: pd.DataFrame | None) -> pd.DataFrame:
    """The answers whose question does not apply to their case, given all the others.

    `answers`: case_id, rater, question_id, value (every answer of each (case, rater)
    group that a rule reads or has; one per question). `profiles`: case fields indexed
    by case id. The result (case_id, rater, question_id) lists rule by rule, groups in
    (case_id, rater) order.
    """
    import numpy as np
    import pandas as pd

    empty = pd.DataFrame(columns=["case_id", "rater", "question_id"])
    if answers.empty:
        return empty
    # The (case, rater) groups as rows and the questions as columns of one object matrix.
    c_codes, c_uniques = pd.factorize(answers["case_id"].to_numpy(), sort=True)
    r_codes, r_uniques = pd.factorize(answers["rater"].to_numpy(dtype=object), sort=True)
    q_codes, q_uniques = pd.factorize(answers["question_id"].to_numpy(dtype=object), sort=True)
    groups, row_group = np.unique(c_codes.astype(np.int64) * len(r_uniques) + r_codes,
                                  return_inverse=True)
    group_case = np.asarray(c_uniques)[groups // len(r_uniques)]
    group_rater = np.asarray(r_uniques, dtype=object)[groups % len(r_uniques)]
    wide = np.full((len(groups), len(q_uniques)), None, dtype=object)
    values = answers["value"].to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    wide[row_group, q_codes] = values
    given = {q: wide[:, j] for j, q in enumerate(q_uniques)}
    fields = {f: profiles[f].reindex(group_case).to_numpy(dtype=object)
              for f in rule_case_fields(qs) if profiles is not None and f in profiles}
    verdicts = applicability(qs, len(groups), fields, given)
    found = [pd.DataFrame({"case_id": group_case[bad], "rater": group_rater[bad],
                           "question_id": qid})
             for qid, applies_to in verdicts.items() if qid in given
             for bad in [(given[qid] != None) & ~applies_to]  # noqa: E711 - elementwise
             if bad.any()]
    return pd.concat(found, ignore_index=True) if found else empty
