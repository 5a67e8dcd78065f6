"""Reading report files: one JSON value (a report or a list, pretty-printed or not) or JSON Lines.

Each submission carries the line where its report starts; a syntax error is one rejection at its line and
column, never one per physical line; values JSON can carry but osmo cannot store are clean rejections.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from osmo.adapters.report_json import ReportParser
from osmo.application.recording import Checked, Rejection, Submission, check_submission
from osmo.domain.games import MAX_METADATA_DEPTH
from tests.unit.support import shipped_catalog

CATALOG = shipped_catalog()


def report(game_id: str = "g-1", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "game_id": game_id, "started_at": "2026-11-28T10:00:00Z", "finished_at": "2026-11-28T10:25:00Z",
        "winner": 0,
        "teams": [[{"player_id": f"{side}{i}", "stats": {"attempted_attacks": 40, "hits": 31, "kills": 2}}
                   for i in range(3)] for side in ("red-", "blue-")],
        "metadata": {"mode": "ranked", "map": "Durotar"},
    }
    data.update(changes)
    return data


def parse(content: str | bytes) -> list[Submission]:
    return list(ReportParser(CATALOG).parse(content.encode() if isinstance(content, str) else content))


def verdicts(content: str | bytes) -> list[Checked | Rejection]:
    """What --skip-invalid works from: every submission checked on its own."""
    return [check_submission(s, CATALOG) for s in parse(content)]


def only_error(content: str | bytes) -> Submission:
    submissions = parse(content)
    assert len(submissions) == 1, [(s.line, s.error) for s in submissions]
    assert submissions[0].error is not None
    return submissions[0]


def only_rejection(content: str | bytes) -> Rejection:
    [verdict] = verdicts(content)
    assert isinstance(verdict, Rejection), verdict
    return verdict


class TestFormats:
    def test_one_compact_report(self) -> None:
        [submission] = parse(json.dumps(report()))
        assert submission.error is None
        assert (submission.line, submission.game_id) == (1, "g-1")

    def test_one_pretty_printed_report_starts_where_its_brace_is(self) -> None:
        [submission] = parse("\n\n" + json.dumps(report(), indent=2) + "\n\n")
        assert submission.error is None
        assert submission.line == 3

    def test_json_lines(self) -> None:
        content = "\n".join(json.dumps(report(f"g-{i}")) for i in range(3)) + "\n"
        assert [(s.line, s.game_id, s.error) for s in parse(content)] == [
            (1, "g-0", None), (2, "g-1", None), (3, "g-2", None)]

    def test_json_lines_keep_their_line_numbers_across_blank_lines(self) -> None:
        content = "\n" + json.dumps(report("a")) + "\n\n  \n" + json.dumps(report("b")) + "\r\n"
        assert [(s.line, s.game_id) for s in parse(content)] == [(2, "a"), (5, "b")]

    @pytest.mark.parametrize("content", ["", "   \n\t\n", "[]", " [ \n ] \n"])
    def test_blank_input_or_an_empty_list_has_no_reports(self, content: str) -> None:
        assert parse(content) == []

    def test_a_pretty_printed_list_gives_each_report_the_line_it_starts_on(self) -> None:
        content = json.dumps([report(f"g-{i}") for i in range(4)], indent=2)
        lines = content.splitlines()
        starts = [n for n, text in enumerate(lines, 1) if text == "  {"]
        submissions = parse(content)
        assert [s.error for s in submissions] == [None] * 4
        assert [s.line for s in submissions] == starts
        assert starts[1] > 2  # a line in the file, not the index in the list
        assert [s.game_id for s in submissions] == ["g-0", "g-1", "g-2", "g-3"]

    def test_a_compact_list_on_one_line(self) -> None:
        submissions = parse(json.dumps([report("a"), report("b")]))
        assert [(s.line, s.game_id, s.error) for s in submissions] == [(1, "a", None), (1, "b", None)]

    def test_a_report_of_a_list_with_a_wrong_field_names_it_at_its_line(self) -> None:
        content = json.dumps([report("a"), report("b", winner="0")], indent=1)
        first, second = parse(content)
        assert first.error is None
        assert second.line == content.splitlines().index(" {", 2) + 1
        assert second.error == "game 'b': winner must be an integer, got \"0\""


class TestSyntaxErrors:
    """One broken JSON value is one rejection at the error's line and column."""

    def test_a_pretty_printed_report_with_one_error_is_one_rejection(self) -> None:
        lines = json.dumps(report(), indent=2).splitlines()
        at = next(n for n, text in enumerate(lines) if '"winner"' in text)
        lines[at] = lines[at].rstrip(",")  # a missing comma
        submission = only_error("\n".join(lines))
        assert submission.line == at + 2
        assert submission.error == f"not valid JSON at line {at + 2}, column 3: Expecting ',' delimiter"
        assert len(lines) > 9

    def test_a_218_line_list_with_an_error_after_its_reports_is_one_rejection(self) -> None:
        content = json.dumps([report(f"g-{i}") for i in range(5)], indent=2)
        content = content[:-1] + ",\n]"  # a trailing comma
        submissions = parse(content)
        assert [s.error for s in submissions[:5]] == [None] * 5
        [rejection] = submissions[5:]
        line_count = len(content.splitlines())
        assert rejection.line == line_count
        assert rejection.error == f"not valid JSON at line {line_count}, column 1: Expecting value"

    def test_an_error_in_the_middle_of_a_list_keeps_the_reports_before_it(self) -> None:
        good = json.dumps([report("a"), report("b")], indent=2)
        bad = json.dumps(report("c"), indent=2).replace('"winner": 0', '"winner": 0 0')
        content = good[:-2] + ",\n" + bad + ",\n" + json.dumps(report("d")) + "\n]"
        lines = content.splitlines()
        error_line = next(n for n, text in enumerate(lines, 1) if '"winner": 0 0' in text)
        submissions = parse(content)
        assert [s.game_id for s in submissions[:2]] == ["a", "b"]
        assert [s.error for s in submissions[:2]] == [None, None]
        [rejection] = submissions[2:]
        assert rejection.line == error_line
        assert rejection.error == f"not valid JSON at line {error_line}, column 15: Expecting ',' delimiter"

    def test_a_missing_comma_between_reports_of_a_list(self) -> None:
        content = "[\n" + json.dumps(report("a")) + "\n" + json.dumps(report("b")) + "\n]"
        first, rejection = parse(content)
        assert first.game_id == "a"
        assert (rejection.line, rejection.error) == (3, "not valid JSON at line 3, column 1: Expecting ',' delimiter")

    def test_text_after_a_list(self) -> None:
        content = json.dumps([report()], indent=2) + "\n\nthe end\n"
        end = len(content.splitlines())
        submissions = parse(content)
        assert submissions[0].error is None
        assert (submissions[1].line, submissions[1].error) == (
            end, f"not valid JSON at line {end}, column 1: Extra data")

    def test_a_compact_list_then_more_lines_is_read_as_json_lines(self) -> None:
        submissions = parse(json.dumps([report()]) + "\n" + json.dumps(report()))
        assert [(s.line, s.error) for s in submissions] == [(1, "report must be an object"), (2, None)]

    def test_text_after_a_report(self) -> None:
        submission = only_error(json.dumps(report(), indent=2) + " }")
        assert "Extra data" in (submission.error or "")

    def test_a_single_broken_line_names_its_column(self) -> None:
        submission = only_error('{"game_id": "g-1", "winner": }')
        assert submission.error == "not valid JSON at line 1, column 30: Expecting value"

    def test_a_truncated_file(self) -> None:
        content = json.dumps([report("a"), report("b")], indent=2)[:-40]
        submissions = parse(content)
        assert submissions[0].game_id == "a"
        assert submissions[-1].error is not None
        assert submissions[-1].error.startswith("not valid JSON at line")
        assert len(submissions) == 2

    def test_ten_megabytes_of_junk_are_one_rejection(self) -> None:
        noise = random.Random(7)
        junk = bytes(noise.randrange(256) for _ in range(100_000)) * 100
        assert len(parse(junk)) == 1
        text = "".join(noise.choice("ab{}[]:,\" \n") for _ in range(100_000)) * 100
        assert len(parse(text)) == 1

    def test_invalid_utf8_in_one_value_is_one_rejection(self) -> None:
        content = json.dumps(report(), indent=2).encode().replace(b"Durotar", b"Dur\xffotar")
        submission = only_error(content)
        assert submission.error is not None
        assert submission.error.startswith("not valid UTF-8 at line")

    def test_a_broken_line_of_json_lines_rejects_that_line_only(self) -> None:
        lines = [json.dumps(report(f"g-{i}")) for i in range(4)]
        lines[2] = lines[2][:-5]
        submissions = parse("\n".join(lines))
        assert [(s.line, s.error is None) for s in submissions] == [(1, True), (2, True), (3, False), (4, True)]
        assert (submissions[2].error or "").startswith("not valid JSON at line 3, column")

    def test_a_broken_first_line_of_json_lines_rejects_that_line_only(self) -> None:
        lines = [json.dumps(report(f"g-{i}")) for i in range(4)]
        lines[0] = lines[0][:-5]
        submissions = parse("\n".join(lines))
        assert [(s.line, s.error is None) for s in submissions] == [(1, False), (2, True), (3, True), (4, True)]

    def test_a_broken_pretty_printed_report_whose_first_line_is_not_a_brace(self) -> None:
        content = '{"game_id": "g-1",\n "winner": 0,,\n "teams": []}'
        submission = only_error(content)
        assert submission.line == 2


class TestValuesThatCannotBeStored:
    """JSON can carry them; osmo rejects them by game and field (other reports of the input go on)."""

    @pytest.mark.parametrize(("token", "shown"), [("NaN", "NaN"), ("Infinity", "Infinity"),
                                                  ("-Infinity", "-Infinity"), ("1e309", "Infinity")])
    @pytest.mark.parametrize("layout", ["lines", "list", "pretty"])
    def test_a_number_that_is_not_finite(self, token: str, shown: str, layout: str) -> None:
        bad = json.dumps(report("bad", metadata={"rating": "X"})).replace('"X"', token)
        good = [json.dumps(report("a")), json.dumps(report("b"))]
        if layout == "lines":
            content = "\n".join([good[0], bad, good[1]])
        else:
            content = "[" + ",\n".join([good[0], bad, good[1]]) + "]"
            if layout == "pretty":
                content = content.replace(",", ",\n ")
        outcomes = verdicts(content)
        assert [type(o).__name__ for o in outcomes] == ["Checked", "Rejection", "Checked"]
        rejection = outcomes[1]
        assert isinstance(rejection, Rejection)
        assert rejection.game_id == "bad"
        assert rejection.error == f"game 'bad': metadata.rating must be a finite number, got {shown}"

    @pytest.mark.parametrize("layout", ["lines", "one value", "list"])
    def test_an_integer_beyond_64_bits_is_not_turned_into_a_float(self, layout: str) -> None:
        bad = json.dumps(report("bad", metadata={"seed": 2**70}))
        content = {"lines": bad + "\n" + json.dumps(report("a")), "one value": bad, "list": f"[{bad}]"}[layout]
        rejection = verdicts(content)[0]
        assert isinstance(rejection, Rejection)
        assert rejection.error.startswith(f"game 'bad': metadata.seed = {2**70} is out of range")

    def test_the_largest_64_bit_integer_is_kept_exactly(self) -> None:
        [submission] = parse(json.dumps([report(metadata={"seed": 2**63 - 1})]))
        assert submission.report is not None
        assert submission.report.metadata["seed"] == 2**63 - 1

    @pytest.mark.parametrize("levels", [MAX_METADATA_DEPTH + 1, 199, 250, 500])
    @pytest.mark.parametrize("layout", ["lines", "list"])
    def test_deep_metadata_is_a_clean_rejection(self, levels: int, layout: str) -> None:
        deep = json.dumps(report("deep")).replace('"Durotar"', "[" * (levels - 1) + "]" * (levels - 1))
        content = deep + "\n" + json.dumps(report("a")) if layout == "lines" else f"[{deep}, {json.dumps(report())}]"
        outcomes = verdicts(content)
        assert isinstance(outcomes[0], Rejection)
        assert outcomes[0].error.startswith("game 'deep': metadata.map[0][0]")
        assert outcomes[0].error.endswith("is nested too deeply (metadata may be at most 16 levels deep)")
        assert isinstance(outcomes[1], Checked)

    @pytest.mark.parametrize("content", [
        "[" * 100_000 + "]" * 100_000,
        "[" + "[" * 100_000 + "]" * 100_000 + "]",
        json.dumps(report()).replace('"Durotar"', "[" * 100_000 + "]" * 100_000),
        json.dumps(report()).replace('"Durotar"', "[" * 100_000 + "]" * 100_000) + "\n" + json.dumps(report()),
    ], ids=["value", "list", "report", "lines"])
    def test_absurd_nesting_is_a_clean_rejection(self, content: str) -> None:
        outcomes = verdicts(content)
        assert isinstance(outcomes[0], Rejection)
        assert "not valid JSON" in outcomes[0].error
        assert "deep" in outcomes[0].error or "recursion" in outcomes[0].error

    def test_fifty_megabytes_of_metadata(self) -> None:
        rejection = only_rejection(json.dumps(report(metadata={"blob": "x" * 50_000_000})))
        assert rejection.error.startswith("game 'g-1': metadata takes 50000011 bytes once serialised; at most 16384")

    @pytest.mark.parametrize(("escape", "code"), [("\\u0000", "U+0000"), ("\\u001b", "U+001B"), ("\\u200b", "U+200B")])
    def test_a_control_character_in_a_game_id(self, escape: str, code: str) -> None:
        content = json.dumps(report("g-1X")).replace("g-1X", f"g-1{escape}")
        rejection = only_rejection(content)
        assert rejection.error.startswith("game_id must not contain control characters")
        assert code in rejection.error

    def test_a_control_character_in_a_player_id(self) -> None:
        content = json.dumps(report()).replace('"blue-1"', '"blue\\u00001"')
        rejection = only_rejection(content)
        assert rejection.error.startswith("game 'g-1', team 1 player 1: player_id must not contain control characters")

    def test_a_lone_surrogate_in_a_game_id(self) -> None:
        line = json.dumps(report("g-1X")).replace("g-1X", "g-1\\ud800")
        for content, column in ((line, 23), (f"[{line}]", 24), (f"[\n  {line}]", 23 + 2)):
            rejection = only_rejection(content)
            at_line = content.count("\n") + 1
            assert rejection.error.startswith(f"game 'g-1\\ud800': not valid JSON at line {at_line}, column {column}: ")

    @pytest.mark.parametrize(("field", "moment"), [("started_at", "0001-01-01T00:00:00+01:00"),
                                                   ("finished_at", "9999-12-31T23:59:59-01:00")])
    def test_a_time_outside_years_1_to_9999_in_utc(self, field: str, moment: str) -> None:
        outcomes = verdicts(json.dumps([report("bad", **{field: moment}), report("good")]))
        assert isinstance(outcomes[1], Checked)
        rejection = outcomes[0]
        assert isinstance(rejection, Rejection)
        assert rejection.error.startswith(f"game 'bad': {field} ({moment}) is out of range")

    def test_a_stat_beyond_64_bits_is_named(self) -> None:
        data = report()
        data["teams"][0][1]["stats"]["kills"] = 2**70
        rejection = only_rejection(json.dumps(data))
        assert rejection.error == (
            f"game 'g-1', team 0 player 'red-1': stats.kills must be at most 2147483647, got {2**70}")

    def test_a_number_too_long_to_read(self) -> None:
        rejection = only_rejection(json.dumps(report()).replace('"winner": 0', '"winner": ' + "9" * 5000))
        assert rejection.error.startswith("game 'g-1': not valid JSON at line 1, column ")

    def test_a_wrong_type_beside_a_nan_is_still_named(self) -> None:
        content = json.dumps(report(winner="0", metadata={"x": "N"})).replace('"N"', "NaN")
        assert only_rejection(content).error == "game 'g-1': winner must be an integer, got \"0\""


class TestParseOne:
    def test_it_reads_one_report_at_a_given_line(self) -> None:
        submission = ReportParser(CATALOG).parse_one(json.dumps(report()), 7)
        assert (submission.line, submission.game_id, submission.error) == (7, "g-1", None)
        assert submission.report is not None
        assert submission.report.started_at == datetime(2026, 11, 28, 10, tzinfo=UTC)
        assert submission.report.finished_at - submission.report.started_at == timedelta(minutes=25)

    def test_its_syntax_errors_are_placed_in_the_input(self) -> None:
        submission = ReportParser(CATALOG).parse_one('  {"game_id": "g-1",, }', 7)
        assert (submission.error or "").startswith("not valid JSON at line 7, column 21: ")


class TestOddInputs:
    def test_a_null_report_is_not_an_object(self) -> None:
        from osmo.adapters.catalog_files import load_catalog
        from osmo.adapters.report_json import ReportParser

        (null, number) = list(ReportParser(load_catalog()).parse(b"[null, 1]"))
        assert null.error == "report must be an object, got null"
        assert number.error == "report must be an object, got 1"

    def test_a_byte_order_mark_is_ignored(self) -> None:
        from osmo.adapters.catalog_files import load_catalog
        from osmo.adapters.report_json import ReportParser

        (only,) = list(ReportParser(load_catalog()).parse(b'\xef\xbb\xbf{"game_id": "x"}'))
        assert only.game_id == "x" and only.error is not None and "missing field" in only.error
