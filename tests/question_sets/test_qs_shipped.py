"""The shipped sets: they validate, match the published wording, and round-trip."""

import csv
from pathlib import Path

import pytest
import yaml

from question_sets import list_sets, load_file, load_set, validate_file
from question_sets.loader import PACKAGE_DIR
from question_sets.schema import SCHEMA_PATH, QuestionSetFile, dump_yaml, json_schema_text

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
FIG5_2 = REFERENCE / "fig5_2_core_iom_vs_non_iom.csv"
SHIPPED = sorted(PACKAGE_DIR.glob("*.yaml"))

FACTORS = [
    ("attitudes", "Attitudes to offending"),
    ("family", "Family and relationships"),
    ("thinking", "Thinking and behaviour"),
    ("lifestyle", "Lifestyle and associates"),
    ("drugs", "Drug misuse"),
    ("alcohol", "Alcohol misuse"),
    ("ete", "Education, training and employment"),
    ("accommodation", "Accommodation"),
]
KEY_IDS = ["2.1.1", "2.1.2", "2.1.3", "2.2.1", "2.2.2", "2.2.3",
           "2.3.1", "2.3.2", "2.3.3", "2.4.1", "2.4.2", "2.4.3"]
NA_KEYS = {"2.2.3", "2.3.3", "2.4.1", "2.4.2", "2.4.3"}


def reference_rows() -> list[dict[str, str]]:
    if not FIG5_2.exists():
        pytest.skip(f"reference figures not found at {FIG5_2}")
    with FIG5_2.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_both_sets_are_shipped_and_listed() -> None:
    assert {p.name for p in SHIPPED} == {
        "hmip-adult-2018-1.0.yaml", "hmip-adult-2018-1.1.yaml",
        "iom-thematic-2019-1.0.yaml", "iom-thematic-2019-1.1.yaml"}
    assert [(s.id, s.version) for s in list_sets()] == [
        ("hmip-adult-2018", "1.0"), ("hmip-adult-2018", "1.1"),
        ("iom-thematic-2019", "1.0"), ("iom-thematic-2019", "1.1")]
    assert load_set("iom-thematic-2019").version == "1.1"  # new inspections take the newest


# Recorded in every database made before 1.1: a digest that moved would make the tool
# refuse those databases' inspections ("already known with different content").
DIGESTS_1_0 = {
    "hmip-adult-2018": "55628257f0b28bb2c0decb2ff19e100cdaf4199c8dc7030ca1617069cbda68d4",
    "iom-thematic-2019": "475e0b83b44017a74544ba7bc72c180259631bbb81ffce91ac1cede91f53f724",
}


@pytest.mark.parametrize("set_id", DIGESTS_1_0)
def test_version_1_0_keeps_its_digest(set_id: str) -> None:
    assert load_set(set_id, "1.0").digest == DIGESTS_1_0[set_id]


def test_version_1_1_words_every_factor_question_as_a_sentence() -> None:
    old, new = load_set("iom-thematic-2019", "1.0"), load_set("iom-thematic-2019", "1.1")
    assert new.includes == ("hmip-adult-2018@1.1",)
    factors = [q for q in new.questions if q.factor]
    assert len(factors) == 16
    labels = {q.factor: q.label.split(":")[0] for q in factors}
    for q in factors:
        # Never a capitalised label inside a sentence ("Is Attitudes to offending linked").
        assert labels[q.factor] not in q.text, q.text
        assert q.text[0].isupper() and q.text.endswith("?")
        assert all(labels[q.factor] not in g for g in q.guidance), q.guidance
    assert "Are the service user's attitudes to offending linked" in factors[0].text
    # Only the wording changed: ids, types, rules, codes, keys and labels are 1.0's.
    def shape(qs: object) -> list[tuple[object, ...]]:
        return [(q.id, q.type, q.applies_when, q.codes, q.key, q.required, q.label)
                for q in qs.questions]  # type: ignore[attr-defined]
    assert shape(new) == shape(old)
    assert [q.text for q in new.questions if not q.factor] == [
        q.text for q in old.questions if not q.factor]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_set_validates(path: Path) -> None:
    assert validate_file(path) == []
    read = load_file(path)
    assert read.digest == load_set(read.id, read.version).digest


def test_adult_key_questions_match_figure_5_2() -> None:
    adult = load_set("hmip-adult-2018")
    rows = {r["question_id"]: r for r in reference_rows()}
    assert [q.id for q in adult.key_questions] == KEY_IDS
    for q in adult.key_questions:
        assert q.text == rows[q.id]["question"]
        assert q.section_title == rows[q.id]["standard"]
        assert q.section == q.id.rsplit(".", 1)[0]
        assert q.type == ("yes_no_na" if q.id in NA_KEYS else "yes_no")
        assert q.applies_when is None  # "in relevant cases" is judgement, not a rule
        assert q.guidance and q.label != q.text
    for rid in ("ro.agencies_desistance", "ro.agencies_harm"):
        q = adult.question(rid)
        assert (q.text, q.type, q.key, q.section) == (rows[rid]["question"], "yes_no_na", False,
                                                      "ro")


def test_sections_are_the_four_standards() -> None:
    adult = load_set("hmip-adult-2018")
    assert [(s.id, s.title) for s in adult.sections] == [
        ("2.1", "Assessment"), ("2.2", "Planning"), ("2.3", "Implementation and delivery"),
        ("2.4", "Reviewing"), ("ro", "Responsible officer survey")]


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_factor_templates_expand_to_linked_and_delivered(version: str) -> None:
    adult = load_set("hmip-adult-2018", version)
    assert list(adult.factors) == FACTORS
    for code, label in FACTORS:
        linked = adult.question(f"factor.{code}.linked")
        delivered = adult.question(f"factor.{code}.delivered")
        assert (linked.section, linked.type, linked.key, linked.factor) == ("2.1", "yes_no",
                                                                             False, code)
        assert (delivered.section, delivered.type, delivered.key) == ("2.3", "yes_no", False)
        assert delivered.applies_when == f"answers['factor.{code}.linked'] == 'yes'"
        if version == "1.0":  # templated, kept as answered under it
            assert linked.text == f"Is {label} linked to the service user's offending?"
            assert delivered.text == f"Were sufficient services delivered to address {label}?"
        else:  # each factor's own sentence
            assert linked.text.endswith("linked to their offending?") or linked.text.endswith(
                "linked to the service user's offending?")
            assert delivered.text.startswith("Were sufficient services delivered to address ")
            assert label not in linked.text and label not in delivered.text


THEMATIC = {
    "iom.reasons_known": ("yes_no", None),
    "iom.explained": ("yes_no", None),
    "iom.partner_info": ("yes_no", "case.case_type != 'non_statutory'"),
    "iom.partners": ("multi_choice", "case.case_type != 'non_statutory'"),
    "iom.plan_requirements": ("yes_no", "case.case_type != 'non_statutory'"),
    "iom.plan_roles": ("yes_no", "case.case_type != 'non_statutory'"),
    "iom.supported_engage": ("yes_no", None),
    "iom.complied": ("yes_no", None),
    "iom.recalled": ("yes_no", "case.case_type == 'post_release'"),
    "iom.su_involved_review": ("yes_no", "case.case_type != 'non_statutory'"),
    "iom.review_adjusted": ("yes_no_na", None),
    "iom.deselected": ("yes_no", None),
    "iom.exit_strategy": ("yes_no", "answers['iom.deselected'] == 'yes'"),
    "safe.da_enquiries": ("yes_no", "case.domestic_abuse"),
    "safe.safeguarding_enquiries": ("yes_no", "case.child_safeguarding"),
    "safe.info_shared": ("yes_no", None),
    "safe.victim_focus": ("yes_no_na", None),
    "outcome.reoffended": ("yes_no", None),
    "outcome.frequency": ("choice", "answers['outcome.reoffended'] == 'yes'"),
    "outcome.seriousness": ("choice", "answers['outcome.reoffended'] == 'yes'"),
}


def test_thematic_set_includes_the_adult_set_and_adds_the_iom_module() -> None:
    adult, thematic = load_set("hmip-adult-2018"), load_set("iom-thematic-2019")
    assert thematic.includes == ("hmip-adult-2018@1.1",)
    ids = [q.id for q in thematic.questions]
    assert ids[: len(adult.questions)] == [q.id for q in adult.questions]
    assert ids[len(adult.questions):] == list(THEMATIC)
    assert [s.id for s in thematic.sections][-3:] == ["iom", "safe", "outcome"]
    assert thematic.key_questions == adult.key_questions
    for qid, (kind, rule) in THEMATIC.items():
        q = thematic.question(qid)
        assert (q.type, q.applies_when, q.key) == (kind, rule, False), qid
        assert q.guidance, qid
    assert thematic.question("iom.partners").required is False
    assert list(thematic.question("iom.partners").codes) == [
        "police", "nps", "crc", "substance_misuse", "housing", "mental_health", "ete", "other"]
    assert thematic.question("outcome.frequency").codes == {
        "reduced": "Reduced", "same": "Stayed the same", "increased": "Increased"}
    assert thematic.question("iom.explained").text == (
        "Were the reasons for IOM registration explained to the service user at the time and "
        "were their views taken into account?")


def test_codes_follow_the_answer_type() -> None:
    thematic = load_set("iom-thematic-2019")
    assert thematic.question("2.1.1").codes == {"yes": "Yes", "no": "No"}
    assert thematic.question("2.2.3").codes == {"yes": "Yes", "no": "No", "na": "Not applicable"}
    assert thematic.question("2.2.3").allows_na and not thematic.question("2.1.1").allows_na


def test_unknown_question_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        load_set("hmip-adult-2018").question("2.5.1")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_file_model_round_trips(path: Path, tmp_path: Path) -> None:
    spec = QuestionSetFile.model_validate(yaml.safe_load(path.read_text()))
    dumped = dump_yaml(spec)
    again = QuestionSetFile.model_validate(yaml.safe_load(dumped))
    assert again == spec
    # The dumped file is a valid set with the same content, hence the same digest.
    copy = tmp_path / path.name
    copy.write_text(dumped)
    assert load_file(copy).digest == load_file(path).digest


def test_json_schema_file_is_current() -> None:
    # Regenerate with: python -m question_sets.schema
    assert SCHEMA_PATH.read_text(encoding="utf-8") == json_schema_text()


def test_digest_changes_with_content() -> None:
    adult = load_set("hmip-adult-2018")
    assert len(adult.digest) == 64
    spec = QuestionSetFile.model_validate(yaml.safe_load((PACKAGE_DIR / "hmip-adult-2018-1.1.yaml")
                                                          .read_text()))
    assert spec.title != "Other"
    from question_sets.build import build_set

    changed, issues = build_set(spec.model_copy(update={"title": "Other"}))
    assert issues == [] and changed is not None
    assert changed.digest != adult.digest
    same, _ = build_set(spec)
    assert same is not None and same.digest == adult.digest


def test_readme_documents_every_stable_question_id() -> None:
    readme = (PACKAGE_DIR / "README.md").read_text(encoding="utf-8")
    for q in load_set("iom-thematic-2019").questions:
        qid = q.id.replace(f".{q.factor}.", ".<code>.") if q.factor else q.id
        assert f"`{qid}`" in readme, qid
    for code, label in FACTORS:
        assert f"`{code}` ({label})" in readme.replace("\n", " ")
