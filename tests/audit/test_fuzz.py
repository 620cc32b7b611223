"""Hostile input: the importers, the question-set loader and the rule language.

Whatever bytes or text arrive, each either accepts them or fails with its own clean
error (AuditError for imports, QuestionSetError or a problem list for question sets,
ExpressionError for rules), and a refused import leaves the stored data unchanged.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.cases import record_answer, save_note
from audit.errors import AuditError
from audit.imports.cases import import_cases
from audit.imports.ratings import import_ratings
from audit.permissions import Actor
from audit.store.engine import Database
from question_sets import (
    ExpressionError,
    QuestionSetError,
    compile_expression,
    load_file,
    validate_file,
)
from question_sets.profile import PROFILE
from tests.databases import fresh_sqlite
from tests.helpers import make_inspection

RUN: Counter[str] = Counter()  # fuzz cases run, printed at the end of the module
SHIPPED = Path(__file__).resolve().parents[2] / "question_sets" / "iom-thematic-2019-1.1.yaml"
# Every health check on. Generation takes milliseconds an example (mutated_set re-reads
# and scribbles on the shipped set, csv_like writes up to 8 x 10 hostile cells), far
# inside too_slow's limit (with deadline=None, 30 s for the first ten examples). The
# fixtures are module-scoped (fuzz_db, shared on purpose) or session-scoped
# (tmp_path_factory), so function_scoped_fixture has nothing to report; it would catch a
# function-scoped fixture silently shared by all the examples.
FUZZ = settings(deadline=None, max_examples=250)


@pytest.fixture(scope="module")
def fuzz_db() -> Database:
    """One database with cases, answers and notes, shared by the import fuzzers."""
    folder = tempfile.mkdtemp(prefix="fuzz-")
    db = fresh_sqlite(Path(folder) / "fuzz.db")
    ids = make_inspection(db, cases=4)
    v = record_answer(db, ids[0], "2.1.1", "yes", actor=Actor("Ann"), expected_version=1).version
    save_note(db, ids[0], "2.1.1", "kept", actor=Actor("Ann"), expected_version=v)
    yield db
    db.dispose()


def digest(db: Database) -> str:
    """A fingerprint of every row of every table the application writes."""
    h = hashlib.sha256()
    with db.engine.connect() as conn:
        for table in ("inspection", "site", "inspector", "case", "answer", "note_draft",
                      "audit_event"):
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY id')):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "na", "", "C-0001", "C-0002", "2.1.1", "iom.partners",
                     "primary", "qa", "=1+1", "\ufeff", "\x00", "true", "1e309", "-0",
                     "9" * 40, "police;nps", '"', "\r\n"]),
)
RATING_HEADER = ["case_ref", "question_id", "answer", "note", "inspector", "rater",
                 "inspection", "updated_at", "extra", ""]
CASE_HEADER = ["case_ref", "site", "status", *PROFILE, "inspection", "bogus"]


def csv_like(header: list[str]) -> st.SearchStrategy[bytes]:
    """CSV text built from plausible headers and hostile cells, in several encodings."""
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        columns = draw(st.lists(st.sampled_from(header), min_size=1, max_size=8))
        rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=len(columns) + 2),
                             max_size=8))
        sep = draw(st.sampled_from([",", ";", "\t", ","]))
        quote = draw(st.booleans())

        def line(cells: list[str]) -> str:
            return sep.join(f'"{c}"' if quote else c for c in cells)

        text = "\n".join([line(columns), *(line(r) for r in rows)])
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
        return text.encode(encoding, errors="replace")

    return build()


def _import(db: Database, data: bytes, suffix: str, kind: str) -> None:
    before = digest(db)
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as f:
        f.write(data)
    path = Path(f.name)
    try:
        if kind == "ratings":
            import_ratings(db, path, actor=Actor("Fuzzer"))
        else:
            import_cases(db, path, actor=Actor("Fuzzer"), ignore_unknown=True)
        RUN[f"{kind} accepted"] += 1
    except AuditError:
        assert digest(db) == before, "a refused import changed stored data"
        RUN[f"{kind} refused"] += 1
    finally:
        path.unlink()


@pytest.mark.slow
@FUZZ
@given(data=st.one_of(st.binary(max_size=400), csv_like(RATING_HEADER)),
       suffix=st.sampled_from([".csv", ".csv", ".xlsx", ".txt"]))
def test_rating_imports_of_hostile_files_fail_cleanly(fuzz_db: Database, data: bytes,
                                                      suffix: str) -> None:
    _import(fuzz_db, data, suffix, "ratings")


@pytest.mark.slow
@FUZZ
@given(data=st.one_of(st.binary(max_size=400), csv_like(CASE_HEADER)),
       suffix=st.sampled_from([".csv", ".xlsx"]))
def test_case_imports_of_hostile_files_fail_cleanly(fuzz_db: Database, data: bytes,
                                                    suffix: str) -> None:
    _import(fuzz_db, data, suffix, "cases")


# ---------------------------------------------------------------------------- question sets

@st.composite
def mutated_set(draw: st.DrawFn) -> str:
    """The shipped set with lines deleted, duplicated, swapped or scribbled on."""
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 6))):
        i = rng.randrange(len(lines))
        op = rng.choice(["delete", "duplicate", "swap", "scribble", "indent"])
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * rng.randrange(1, 5) + lines[i]
        else:
            junk = draw(st.text(alphabet=NO_ANCHOR, max_size=10))
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + junk + lines[i][at:]
    return "\n".join(lines)


# No '&' in generated text: a self-referencing anchor once hung the validator (found by
# this fuzzer, now a regression test run in a child process below); a hang in this
# process would take the whole test run with it.
NO_ANCHOR = st.characters(blacklist_characters="&", blacklist_categories=("Cs",))
YAML_ISH = st.one_of(
    st.text(alphabet=NO_ANCHOR, max_size=200),
    st.text(alphabet=" \n:-[]{}*!|>'\"#%@`,?abc0129.", max_size=200),
    st.sampled_from(["!!python/object/apply:os.system ['true']", "a: &a\n  b: *a",
                     "- " * 100, "id: x\nversion: [1]", "&a [1]\n", "*a"]),
    mutated_set(),
)


@pytest.mark.slow
@FUZZ
@given(text=YAML_ISH)
def test_question_set_loader_fails_cleanly(text: str, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("qs") / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    problems = validate_file(path)  # a list of located problems, never an exception
    assert all(str(p) for p in problems)
    try:
        load_file(path)
        RUN["question sets accepted"] += 1
    except QuestionSetError as exc:
        assert str(exc)
        RUN["question sets refused"] += 1


def _validate_in_child(path: Path) -> subprocess.CompletedProcess[str]:
    """validate_file in a child process with 1 GB and 60 s: a crash or hang fails the test
    instead of killing the test runner."""
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)); "
              "from question_sets import validate_file; "
              "print(len(validate_file(sys.argv[1])))")
    try:
        return subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                              text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("validate_file did not finish in 60 s")


@pytest.mark.parametrize("depth", [500, 40_000])
def test_deeply_nested_yaml_is_a_clean_problem(depth: int, tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("{" * depth, encoding="utf-8")
    done = _validate_in_child(path)
    assert done.returncode == 0, done.stderr[-300:]
    assert int(done.stdout) > 0


def test_a_self_referencing_anchor_is_a_clean_problem(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("&0 [*0]", encoding="utf-8")
    done = _validate_in_child(path)
    assert done.returncode == 0, done.stderr[-300:]
    assert int(done.stdout) > 0


# ---------------------------------------------------------------------------- rules

TOKENS = ["case.", "answers['", "']", "2.1.1", "iom", "rosh", "case_type", "==", "!=", "<",
          ">=", " in ", " not ", " and ", " or ", "(", ")", "[", "]", ",", "'yes'", "'",
          '"', "true", "false", "none", "null", "1", "-3", "1e999", ".", " ", "\\", "\x00"]


@pytest.mark.slow
@settings(FUZZ, max_examples=1500)
@given(source=st.one_of(st.text(max_size=80),
                        st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
                        st.integers(1, 3000).map(lambda n: "(" * n + "case.iom" + ")" * n),
                        st.integers(1, 3000).map(lambda n: "not " * n + "case.iom")),
       profile=st.fixed_dictionaries({"iom": st.sampled_from([True, False, None]),
                                      "rosh": st.sampled_from(["high", "low", None, 3])}),
       answers=st.dictionaries(st.sampled_from(["2.1.1", "iom.partners"]),
                               st.sampled_from(["yes", "no", None, "police nps"])))
def test_rule_language_fails_cleanly(source: str, profile: dict, answers: dict) -> None:
    try:
        rule = compile_expression(source)
    except ExpressionError as exc:
        assert str(exc)
        RUN["rules refused"] += 1
        return
    assert rule.evaluate(profile, answers) in (True, False)
    RUN["rules compiled and evaluated"] += 1


def test_zz_report_fuzz_counts() -> None:
    """Not a check: prints how many hostile inputs the fuzzers above ran."""
    print(f"fuzz cases run: {sum(RUN.values())} {dict(RUN)}")
