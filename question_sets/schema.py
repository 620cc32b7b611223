"""The YAML file format of a question set, as pydantic models.

These models describe a file as written (templates unexpanded, includes unresolved);
:mod:`question_sets.build` turns one into a :class:`question_sets.model.QuestionSet`.
Unknown keys are rejected everywhere so that a typo (``applies_whn``) is an error,
not a silently ignored rule. Run ``python -m question_sets.schema`` to rewrite the
JSON Schema that editors use (a test checks that it is current).
"""

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

AnswerType = Literal["yes_no", "yes_no_na", "choice", "multi_choice", "integer", "text"]
CODED_TYPES = ("choice", "multi_choice")

SCHEMA_PATH = Path(__file__).with_name("question-set.schema.json")

# Codes are what exports and expressions key on: keep them plain identifiers.
_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_ID_RE = re.compile(r"^[A-Za-z0-9{}][A-Za-z0-9_.{}-]*$")

NonEmpty = Annotated[str, Field(min_length=1)]
Identifier = Annotated[str, Field(min_length=1, pattern=_ID_RE.pattern)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_codes(codes: dict[str, str]) -> dict[str, str]:
    for code in codes:
        if not _CODE_RE.match(code):
            raise ValueError(f"code '{code}' must be lower-case letters, digits and '_'")
    return codes


class QuestionSpec(_Strict):
    """One question as written; in a template, ``{code}``/``{label}`` are placeholders."""

    id: Identifier
    text: NonEmpty
    texts: dict[str, NonEmpty] | None = Field(
        None, description="In a template: factor code -> the question's own wording for that "
                          "factor, so each reads as written (the text is the fallback)")
    label: NonEmpty | None = Field(None, description="Short row label; defaults to the text")
    guidance: list[NonEmpty] = Field(default_factory=list,
                                     description="Prompts the inspector weighs")
    type: AnswerType
    codes: dict[str, NonEmpty] | None = Field(
        None, validate_default=True,
        description="Ordered code -> label; only (and always) for choice and multi_choice")
    key: bool = Field(False, description="Counted in the standards tables")
    required: bool = True
    applies_when: NonEmpty | None = Field(
        None, description="Rule: the question exists only when it holds")

    @field_validator("codes")
    @classmethod
    def _codes_match_type(cls, codes: dict[str, str] | None, info: Any) -> dict[str, str] | None:
        kind = info.data.get("type")
        if kind in CODED_TYPES:
            if not codes:
                raise ValueError(f"a {kind} question needs codes")
            return _check_codes(codes)
        if codes is not None and kind is not None:
            raise ValueError(f"a {kind} question has no codes (they are implied by its type)")
        return codes

    @field_validator("key")
    @classmethod
    def _key_is_yes_no(cls, key: bool, info: Any) -> bool:
        kind = info.data.get("type")
        if key and kind not in (None, "yes_no", "yes_no_na"):
            raise ValueError("key questions must be yes_no or yes_no_na")
        return key


class Template(_Strict):
    """Questions repeated for each entry of a list of the set (``for_each: factors``)."""

    for_each: Literal["factors"]
    questions: list[QuestionSpec] = Field(min_length=1)


class TemplateEntry(_Strict):
    """A ``- template: {...}`` item among a section's questions."""

    template: Template


def _item_kind(item: Any) -> str | None:
    if isinstance(item, dict):
        return "template" if "template" in item else "question"
    if isinstance(item, BaseModel):
        return "template" if isinstance(item, TemplateEntry) else "question"
    return None


SectionItem = Annotated[
    Annotated[QuestionSpec, Tag("question")] | Annotated[TemplateEntry, Tag("template")],
    Discriminator(_item_kind, custom_error_type="invalid_item",
                  custom_error_message="expected a question or a template"),
]
ITEM_TAGS = ("question", "template")
"""Tags pydantic inserts in error locations after a section item's index."""


class SectionSpec(_Strict):
    """A standard: a titled group of questions."""

    id: Identifier
    title: NonEmpty
    questions: list[SectionItem] = Field(min_length=1)


class RatingBand(_Strict):
    """A rating and the lowest percentage that earns it."""

    rating: NonEmpty
    at_least: Annotated[float, Field(ge=0, le=100, description=(
        "Percentage of relevant cases judged sufficient, after rounding (see decimals)"))]


class RatingRules(_Strict):
    """How a standard is rated from the percentage of its lowest-scoring key question.

    The percentage is rounded half up to ``decimals`` places, exactly as the report prints
    it, and takes the first band (highest first) whose ``at_least`` it reaches; below the
    last band it is rated ``below``.
    """

    decimals: Literal[0, 1] = Field(0, description=(
        "Decimals the percentage is rounded to, half up, before it meets the bands; the "
        "report prints it the same way"))
    bands: list[RatingBand] = Field(min_length=1, description="Highest first")
    below: NonEmpty = Field(description="The rating below the last band")

    @field_validator("bands")
    @classmethod
    def _falling(cls, bands: list[RatingBand]) -> list[RatingBand]:
        for higher, lower in zip(bands, bands[1:], strict=False):
            if not lower.at_least < higher.at_least:
                raise ValueError(
                    f"must be listed highest first with falling thresholds: "
                    f"'{lower.rating}' at {lower.at_least:g} is not below "
                    f"'{higher.rating}' at {higher.at_least:g}")
        seen: set[str] = set()
        for band in bands:
            if band.rating in seen:
                raise ValueError(f"rating '{band.rating}' is listed twice")
            seen.add(band.rating)
        return bands

    @field_validator("below")
    @classmethod
    def _below_is_new(cls, below: str, info: Any) -> str:
        if below in {b.rating for b in info.data.get("bands", [])}:
            raise ValueError(f"'below' rating '{below}' is also a band")
        return below


class QuestionSetFile(_Strict):
    """A whole question-set file."""

    id: Identifier
    version: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)*$",
                                  description="Quote it: '1.0', not 1.0")]
    title: NonEmpty
    description: str | None = None
    includes: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*(@[0-9.]+)?$")]] = \
        Field(default_factory=list, description="Other sets, as 'id' or 'id@version'")
    factors: dict[str, NonEmpty] = Field(
        default_factory=dict, description="Ordered code -> label, for 'for_each: factors'")
    sections: list[SectionSpec] = Field(min_length=1)
    ratings: RatingRules | None = Field(None, description=(
        "How standards are rated (default: those of the first included set that states "
        "them, else Outstanding 80, Good 65, Requires improvement 50, whole percentages)"))

    @field_validator("factors")
    @classmethod
    def _factor_codes(cls, factors: dict[str, str]) -> dict[str, str]:
        return _check_codes(factors)


def dump_yaml(spec: QuestionSetFile) -> str:
    """Write a file model back as YAML (defaults left out, key order kept)."""
    data = spec.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a question-set file."""
    schema = QuestionSetFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "iom-audit question set"
    return schema


def json_schema_text() -> str:
    """The JSON Schema as the text of ``question-set.schema.json``."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(json_schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
