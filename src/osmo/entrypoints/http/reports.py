"""Recording a request body of game reports: the same parser and use case as ``osmo record``, with each
rejection also located by its ``index`` in the body (``line`` alone is ambiguous when several reports
share a line)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osmo.application.recording import BatchRejected, RecordResult, record_games
from osmo.bootstrap import App
from osmo.entrypoints import wire


@dataclass(frozen=True)
class Recorded:
    result: RecordResult
    rejected_batch: bool  # nothing stored: every report had to be valid

    @property
    def conflict_only(self) -> bool:
        """Rejected only because game ids were recorded before with other content (409, not 422)."""
        rejected = self.result.rejected
        return bool(rejected) and all(r.kind == "conflict" for r in rejected)

    def to_json(self) -> dict[str, Any]:
        body = wire.record_result(self.result)
        for item, rejection in zip(body["rejected"], self.result.rejected, strict=True):
            item["index"] = rejection.index
        return body


def record_body(app: App, body: bytes, skip_invalid: bool) -> Recorded:
    """Parse and record ``body`` (run in the writer thread)."""
    submissions = app.parse_reports(body)
    try:
        result = record_games(app.uow, submissions, skip_invalid=skip_invalid)
    except BatchRejected as error:
        return Recorded(RecordResult(rejected=error.rejected), True)
    return Recorded(result, False)
