"""The HTTP API against a real server, on SQLite and PostgreSQL: every endpoint and its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.builders import wire_report
from tests.http.conftest import Server

BRUISER = {"attempted_attacks": 10, "hits": 5, "damage_done": 900, "kills": 2, "time_played": 600}


def test_health_ready_and_docs(server: Server) -> None:
    with server.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").json()["status"] == "ready"
        paths = c.get("/openapi.json").json()["paths"]
        assert {"/v1/games", "/v1/players/{player}", "/v1/leaderboards/{stat}", "/v1/events"} <= set(paths)
        assert c.get("/docs").status_code == 200


def test_posting_games_records_them_and_answers_like_the_cli(server: Server) -> None:
    report = wire_report("api-1", stats={"thrall": BRUISER})
    with server.client(server.report_key) as c:
        first = c.post("/v1/games", json=report)
        assert first.status_code == 201
        body = first.json()
        assert body["recorded"] == 1 and body["duplicates"] == 0 and body["rejected"] == []
        assert {"player_id": "thrall", "award": "bruiser", "game_id": "api-1"} in body["unlocked"]
        again = c.post("/v1/games", json=[report])
        assert again.status_code == 200 and again.json()["duplicates"] == 1
        lines = b"\n".join(__import__("orjson").dumps(wire_report(f"api-l{i}")) for i in range(3))
        assert c.post("/v1/games", content=lines, headers={"content-type": "application/x-ndjson"}).json()[
            "recorded"] == 3
        profile = c.get("/v1/players/thrall").json()
        assert profile["career"]["games_played"] == 4
        assert next(a for a in profile["awards"] if a["id"] == "bruiser")["game_id"] == "api-1"
        games = c.get("/v1/players/Thrall/games", params={"limit": 2}).json()
        assert [g["game_id"] for g in games["games"]] == ["api-l2", "api-l1"]
        oldest = c.get("/v1/players/thrall/games").json()["games"][-1]
        assert oldest["unlocked"] == ["bruiser"] and oldest["stats"]["damage_done"] == 900 and oldest["won"]
        award = c.get("/v1/awards/bruiser").json()
        assert award["holders"] == 1 and award["recent_unlocks"][0]["player_id"] == "thrall"
        listing = {a["id"]: a for a in c.get("/v1/awards").json()}
        assert listing["bruiser"]["rarity"] == 100 / 6 or listing["bruiser"]["rarity"] == round(100 / 6, 2)
        assert "untouchable" not in listing and "???" in listing


def test_invalid_reports_are_422_with_every_index_and_nothing_stored(server: Server) -> None:
    bad_stat = wire_report("bad-1")
    bad_stat["teams"][0][0]["stats"]["hits"] = 99
    unknown_field = {**wire_report("bad-2"), "extra": 1}
    with server.client(server.report_key) as c:
        answer = c.post("/v1/games", json=[wire_report("ok-1"), bad_stat, unknown_field])
        assert answer.status_code == 422
        body = answer.json()
        assert [r["index"] for r in body["rejected"]] == [1, 2]
        assert body["recorded"] == 0 and "hits" in body["rejected"][0]["error"]
        assert "extra" in body["rejected"][1]["error"]
        assert c.get("/v1/players/thrall/games").json()["games"] == []
        skipped = c.post("/v1/games", params={"skip_invalid": "true"}, json=[wire_report("ok-1"), bad_stat])
        assert skipped.status_code == 201 and skipped.json()["rejected"][0]["index"] == 1
        empty = c.post("/v1/games", json=[])
        assert empty.status_code == 400 and "no reports" in empty.json()["error"]


def test_a_game_id_recorded_with_other_content_is_409(server: Server) -> None:
    report = wire_report("dup-1")
    with server.client(server.report_key) as c:
        assert c.post("/v1/games", json=report).status_code == 201
        changed = {**report, "winner": 1}
        answer = c.post("/v1/games", json=changed)
        assert answer.status_code == 409 and "winner" in answer.json()["error"]


def test_keys_and_scopes(server: Server) -> None:
    report = wire_report("auth-1")
    with server.client() as anonymous:
        answer = anonymous.post("/v1/games", json=report)
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["field"] == "authorization"
    with server.client("osmo_not-a-key") as wrong:
        assert wrong.post("/v1/games", json=report).status_code == 401
    with server.client(server.report_key) as reporter:
        assert reporter.post("/v1/games/auth-1/void", json={"reason": "x"}).status_code == 403
        assert reporter.post("/v1/backfill", json={"dry_run": True}).status_code == 403
    with server.client() as anonymous:
        assert anonymous.get("/v1/players/auth-1/games").status_code == 404  # reads are public


def test_admin_corrections(server: Server) -> None:
    with server.client(server.admin_key) as c:
        assert c.post("/v1/games", json=wire_report("adm-1", stats={"thrall": BRUISER})).status_code == 201
        voided = c.post("/v1/games/adm-1/void", json={"reason": "cheater"})
        assert voided.status_code == 200
        assert voided.json()["revoked"] == [{"player_id": "thrall", "award": "bruiser"}]
        assert c.post("/v1/games/adm-1/void", json={"reason": "again"}).status_code == 400
        granted = c.post("/v1/awards/team_player/grants", json={"player": "uther", "reason": "tournament"})
        assert granted.status_code == 201 and granted.json()["status"]["unlocked"]
        assert c.post("/v1/awards/team_player/grants", json={"player": "nobody", "reason": "x"}).status_code == 404
        assert c.post("/v1/awards/nothing/grants", json={"player": "uther", "reason": "x"}).status_code == 404
        revoked = c.post("/v1/awards/team_player/revocations", json={"player": "uther", "reason": "oops"})
        assert revoked.status_code == 201
        assert c.post("/v1/awards/team_player/revocations", json={"player": "uther", "reason": "x"}).status_code == 400
        dry = c.post("/v1/backfill", json={"dry_run": True, "awards": ["bruiser"]}).json()
        assert dry["dry_run"] is True and dry["grants"] == []
        assert c.post("/v1/backfill", json={"awards": ["nothing"]}).status_code == 404


def test_players_endpoints(server: Server) -> None:
    with server.client(server.report_key) as c:
        assert c.post("/v1/players", json={"player_id": "jaina", "name": "Jaina"}).status_code == 201
        taken = c.post("/v1/players", json={"player_id": "JAINA", "name": "Other"})
        assert taken.status_code == 409
        bad = c.post("/v1/players", json={"player_id": "x\u0000", "name": "Zed"})
        assert bad.status_code in (400, 422)
        assert {"player_id": "jaina", "name": "Jaina"} in c.get("/v1/players").json()
        missing = c.get("/v1/players/nobody")
        assert missing.status_code == 404 and "nobody" in missing.json()["error"]
        assert c.get("/v1/players/nobody/games").status_code == 404
        assert c.get("/v1/awards/nothing").status_code == 404
        assert c.get("/v1/awards/untouchable").status_code == 404  # hidden and unheld: unknown here


def test_leaderboards_all_time_and_since(server: Server) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=30)
    with server.client(server.report_key) as c:
        c.post("/v1/games", json=[wire_report("lb-old", started_at=old, winner=1,
                                              stats={"uther": {"kills": 50}})])
        c.post("/v1/games", json=[wire_report(f"lb-{i}", started_at=now - timedelta(hours=i + 2), winner=0,
                                              stats={"thrall": {"kills": 3 + i}}) for i in range(3)])
        board = c.get("/v1/leaderboards/wins").json()
        assert board["total"] == 6 and board["entries"][0]["value"] == 3
        assert [e["rank"] for e in board["entries"]] == [1, 1, 1, 4, 4, 4]
        kills = c.get("/v1/leaderboards/total_kills", params={"limit": 2}).json()["entries"]
        assert kills[0] == {"rank": 1, "player_id": "uther", "name": "Uther", "value": 53}
        week = (now - timedelta(days=7)).isoformat()
        weekly = c.get("/v1/leaderboards/total_kills", params={"since": week}).json()
        assert weekly["entries"][0]["player_id"] == "thrall" and weekly["entries"][0]["value"] == 12
        assert c.get("/v1/leaderboards/kills", params={"since": week}).json()["entries"][0]["value"] == 12
        assert c.get("/v1/leaderboards/games_played", params={"since": week}).json()["total"] == 6
        around = c.get("/v1/leaderboards/total_kills", params={"player": "uther"}).json()["entries"]
        assert around[0]["player_id"] == "uther"
        assert c.get("/v1/leaderboards/nothing").status_code == 404
        assert c.get("/v1/leaderboards/wins", params={"since": "yesterday"}).status_code == 400
        assert c.get("/v1/leaderboards/wins", params={"since": "2026-01-01T00:00:00"}).status_code == 400
        assert c.get("/v1/leaderboards/wins", params={"limit": 0}).status_code == 422
        assert c.get("/v1/leaderboards/wins", params={"player": "nobody"}).status_code == 404


def test_metrics_count_requests_games_unlocks_and_rejections(server: Server) -> None:
    with server.client(server.report_key) as c:
        c.post("/v1/games", json=wire_report("m-1", stats={"thrall": BRUISER}))
        c.post("/v1/games", json=[{"game_id": "m-2"}])
        text = c.get("/metrics").text
    assert 'osmo_http_requests_total{method="POST",route="/v1/games",status="201"} 1.0' in text
    assert "osmo_games_recorded_total 1.0" in text
    assert 'osmo_awards_unlocked_total{award="bruiser"} 1.0' in text
    assert "osmo_reports_rejected_total 1.0" in text
    assert "osmo_http_request_duration_seconds_bucket" in text
