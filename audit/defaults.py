"""Names used when none is given: cheap to import, so command-line help can show them."""

DEFAULT_INSPECTION = "default"
DEFAULT_QUESTION_SET = "iom-thematic-2019"
