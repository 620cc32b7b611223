"""The case profile vocabulary: field codes, their kinds and coded values.

Seed 002 (Annex 2, Figures 2.2 and 4.1-4.8) fixes the profile an inspector records
for each case. Question-set expressions (``case.rosh == 'high'``), the data model,
imports, exports and report tables all key on these codes, so they live here, below
every other package, in one place.

Each coded value has a stable ``code`` (what researchers see in exports) and a human
``label`` (what the app and the report show).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

FieldKind = Literal["bool", "code", "date", "text"]


@dataclass(frozen=True)
class ProfileField:
    """One field of the case profile."""

    code: str
    label: str
    kind: FieldKind
    codes: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def label_of(self, code: str | None) -> str:
        """The human label of a coded value (the code itself when it has none)."""
        if code is None:
            return "Unknown"
        return self.codes.get(code, code)


BOOL_LABELS: Mapping[str, str] = {"yes": "Yes", "no": "No"}

PROVIDER = {"nps": "NPS", "crc": "CRC", "police": "Police"}
CASE_TYPE = {
    "community": "Community sentence",
    "post_release": "Post-release supervision",
    "non_statutory": "Non-statutory",
}
ROSH = {"low": "Low", "medium": "Medium", "high": "High", "very_high": "Very high"}
LIKELIHOOD = {"low": "Low", "medium": "Medium", "high": "High"}
MAPPA_LEVEL = {"none": "Not MAPPA", "1": "Level 1", "2": "Level 2", "3": "Level 3"}
INDEX_OFFENCE = {
    "violence": "Violence against the person",
    "breach_order": "Breach of restraining or non-molestation order",
    "sexual": "Sexual offence",
    "burglary": "Burglary",
    "robbery": "Robbery",
    "theft": "Theft and handling stolen goods",
    "fraud": "Fraud and forgery",
    "criminal_damage": "Criminal damage",
    "drugs": "Drug offences",
    "motoring": "Motoring offences",
    "other": "Other offences not listed above",
}
PREV_CONVICTIONS = {"0": "None", "1_10": "1-10", "11_20": "11-20", "21_plus": "21 or more"}
AGE_BAND = {"18_25": "18-25", "26_35": "26-35", "36_55": "36-55", "56_plus": "56 and over"}
GENDER = {"male": "Male", "female": "Female", "other": "Other"}
ETHNICITY = {
    "white": "White",
    "mixed": "Mixed",
    "asian": "Asian or Asian British",
    "black": "Black or Black British",
    "other": "Other ethnic group",
    "not_known": "Not known",
}

PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("iom", "IOM case", "bool", BOOL_LABELS,
                 "Subject to Integrated Offender Management"),
    ProfileField("provider", "Lead agency", "code", PROVIDER,
                 "Organisation of the lead professional (Figure 4.1)"),
    ProfileField("case_type", "Case type", "code", CASE_TYPE,
                 "Community sentence, post-release supervision or non-statutory (Annex 2)"),
    ProfileField("rosh", "Risk of serious harm", "code", ROSH,
                 "RoSH classification at the start of the most recent period (Figure 4.8)"),
    ProfileField("likelihood", "Likelihood of reoffending", "code", LIKELIHOOD,
                 "Assessed likelihood of reoffending"),
    ProfileField("mappa_level", "MAPPA level", "code", MAPPA_LEVEL,
                 "Multi-agency public protection arrangements level"),
    ProfileField("domestic_abuse", "Domestic abuse concerns", "bool", BOOL_LABELS,
                 "Current concerns about the person as a perpetrator of domestic abuse"),
    ProfileField("child_safeguarding", "Child safeguarding concerns", "bool", BOOL_LABELS,
                 "Current child safeguarding concerns"),
    ProfileField("index_offence", "Index offence", "code", INDEX_OFFENCE,
                 "Principal offence of the current sentence (Figures 2.2, 4.7)"),
    ProfileField("prev_convictions", "Previous convictions", "code", PREV_CONVICTIONS,
                 "Number of previous convictions (Annex 2)"),
    ProfileField("age_band", "Age", "code", AGE_BAND, "Age band (Annex 2)"),
    ProfileField("gender", "Gender", "code", GENDER, "Gender (Annex 2)"),
    ProfileField("ethnicity", "Ethnicity", "code", ETHNICITY, "Ethnic group (Annex 2)"),
    ProfileField("start_date", "Start date", "date", {},
                 "Start of the sentence or of release on licence"),
    ProfileField("ro_interviewed", "Responsible officer interviewed", "bool", BOOL_LABELS,
                 "The inspector interviewed the responsible officer"),
)

PROFILE: Mapping[str, ProfileField] = {f.code: f for f in PROFILE_FIELDS}
"""Profile fields by code, in the order of the data model."""

CODED_FIELDS: tuple[str, ...] = tuple(f.code for f in PROFILE_FIELDS if f.kind == "code")
BOOL_FIELDS: tuple[str, ...] = tuple(f.code for f in PROFILE_FIELDS if f.kind == "bool")

CASE_STATUS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "complete": "Complete",
    "qa_checked": "QA-checked",
    "moderated": "Moderated",
    "locked": "Locked",
}
"""Case work-flow statuses, in order (the moves between them: `audit/lifecycle.py`)."""

# Fields an expression may read besides the profile (they are on every case).
EXTRA_CASE_FIELDS: Mapping[str, ProfileField] = {
    "status": ProfileField("status", "Status", "code", CASE_STATUS),
    "site": ProfileField("site", "Site", "text"),
}
