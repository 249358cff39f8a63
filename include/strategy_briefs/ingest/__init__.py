"""Ingest: read, validate and load the monthly line-of-business submissions.

See docs/submission-contract.md for the contract these modules implement.
"""

from strategy_briefs.ingest.loading import (
    LoadProgress,
    LoadResult,
    MonthNotStaged,
    StagedFile,
    check_month,
    find_submissions,
    load_month,
    load_submission,
    publish_month,
    record_rejection,
    reject_month,
    stage_submission,
)
from strategy_briefs.ingest.validation import (
    FigureRow,
    Problem,
    SubmissionCheck,
    SubmissionInvalid,
    check_file,
    validate_file,
    validate_paths,
)

__all__ = [
    "FigureRow",
    "LoadProgress",
    "LoadResult",
    "MonthNotStaged",
    "Problem",
    "StagedFile",
    "SubmissionCheck",
    "SubmissionInvalid",
    "check_file",
    "check_month",
    "find_submissions",
    "load_month",
    "load_submission",
    "publish_month",
    "record_rejection",
    "reject_month",
    "stage_submission",
    "validate_file",
    "validate_paths",
]
