"""The Grafana dashboard and the Prometheus scrape config: every metric the dashboard queries is one that a
running osmo exports (real ``osmo serve`` processes, with HTTP and NATS, after some traffic)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml  # type: ignore[import-untyped]

from osmo.application.api_keys import create_key
from osmo.application.players import register_seed_players
from osmo.application.webhooks import add_webhook
from osmo.bootstrap import bootstrap
from tests.builders import wire_report
from tests.nats.conftest import NatsServer, connected, free_port, publish_reports
from tests.ops.conftest import ROOT, Process, sample_names, sample_values

DASHBOARD = ROOT / "deploy" / "grafana" / "osmo.json"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"

FUNCTIONS_AND_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and",
                          "or", "unless", "inf", "nan", "le"}


def promql_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions (followed by
    ``(``), keywords, label names (inside ``{}`` or the ``by (...)`` lists), ranges or strings."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group()
        if text[match.end():].lstrip().startswith("("):
            continue  # a function
        if name.lower() in FUNCTIONS_AND_KEYWORDS or text[max(0, match.start() - 1)] in "$.0123456789":
            continue
        names.add(name)
    return names


def test_promql_metrics() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, route) (rate(osmo_a_bucket{route="/v1/x", job=~"$job"}'
            '[$__rate_interval]))) / ignoring(x) osmo_b_total > 0 and on (instance) osmo_c offset 5m')
    assert promql_metrics(expr) == {"osmo_a_bucket", "osmo_b_total", "osmo_c"}
    assert promql_metrics("sum(rate(up[1m]))") == {"up"}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", ())


def queried_metrics(board: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for panel in panels(board):
        for target in panel.get("targets", ()):
            names |= promql_metrics(target["expr"])
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            names |= promql_metrics(re.sub(r"label_values\((.*),\s*\w+\)", r"\1", variable["definition"]))
    return names


def test_the_dashboard_is_a_grafana_model_over_a_prometheus_datasource_variable() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    shown = [p for p in panels(board) if p["type"] != "row"]
    assert len({p["id"] for p in panels(board)}) == len(list(panels(board)))
    for panel in shown:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
    exprs = " ".join(t["expr"] for p in shown for t in p["targets"])
    assert "histogram_quantile(0.99" in exprs and "histogram_quantile(0.5" in exprs
    for wanted in ("osmo_games_recorded_total", "osmo_http_requests_total", "osmo_awards_unlocked_total",
                   "osmo_jetstream_consumer_pending", "osmo_relay_lag_positions", "osmo_store_position",
                   "osmo_backfill_games_scanned", "osmo_reports_rejected_total"):
        assert wanted in exprs, wanted
    titles = " ".join(p["title"].lower() for p in shown)
    for words in ("per second", "latency", "errors", "awards", "consumer pending", "relay lag", "store position",
                  "backfill"):
        assert words in titles, words


def test_the_scrape_config_lists_serve_processes() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"osmo", "osmo-nats"} <= set(jobs)
    for job in jobs.values():
        assert job["metrics_path"] == "/metrics"
        targets = [t for group in job["static_configs"] for t in group["targets"]]
        assert targets and all(re.fullmatch(r"[\w.-]+:\d+", t) for t in targets)


# -- against running osmo serve processes --------------------------------------------------------------

def prepared_store(db: str) -> tuple[str, str]:
    """Seed players, a report key, an admin key and a webhook that cannot be delivered (its failures)."""
    app = bootstrap(db)
    try:
        register_seed_players(app.uow)
        _, report_key = create_key(app.uow, "reporter", "report")
        _, admin_key = create_key(app.uow, "operator", "admin")
        add_webhook(app.uow, f"http://127.0.0.1:{free_port()}/hook", "a-webhook-secret-of-32-characters", [])
    finally:
        app.close()
    return report_key, admin_key


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


BRUISER = {"attempted_attacks": 10, "hits": 5, "damage_done": 900, "kills": 1, "time_played": 600}


def http_traffic(base: str, report_key: str, admin_key: str) -> None:
    reporter = {"Authorization": f"Bearer {report_key}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        games = [wire_report(f"h-{i}", stats={"thrall": BRUISER}) for i in range(3)]
        assert client.post("/v1/games", json=games, headers=reporter).status_code == 201
        assert client.post("/v1/games", json={"game_id": "bad"}, headers=reporter).status_code == 422
        assert client.post("/v1/games", json=games[0], headers={"Authorization": "Bearer osmo_nope"}).status_code == 401
        assert client.get("/v1/players/thrall").status_code == 200
        assert client.get("/v1/players/nobody").status_code == 404
        answer = client.post("/v1/backfill", json={}, headers={"Authorization": f"Bearer {admin_key}"})
        assert answer.status_code == 200, answer.text


async def nats_traffic(url: str) -> None:
    async with connected(url) as nc:
        reports = [wire_report(f"n-{i}", stats={"uther": BRUISER}) for i in range(20)]
        await publish_reports(nc, reports)
        invalid = wire_report("n-bad", players=("thrall", "rexxar", "guldan", "uther", "anduin", "nobody"))
        await publish_reports(nc, [invalid])
        answer = await nc.request("osmo.games.record", orjson.dumps(wire_report("r-1")), timeout=10)
        assert orjson.loads(answer.data)["recorded"] == 1
        answer = await nc.request("osmo.players.get", b'{"player": "nobody"}', timeout=10)
        assert answer.headers and answer.headers.get("Nats-Service-Error-Code") == "404"


def test_every_metric_the_dashboard_queries_is_exported_by_running_serve_processes(
        tmp_path: Path, own_nats: NatsServer, processes: Callable[[list[str], dict[str, str]], Process]) -> None:
    db = str(tmp_path / "osmo.db")
    report_key, admin_key = prepared_store(db)
    http_port, exporter_port = free_port(), free_port()
    base, exporter = f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{exporter_port}/metrics"
    with_http = processes(["--db", db, "serve", "--http", f"127.0.0.1:{http_port}", "--nats", own_nats.url], {})
    with_http.wait_ready(f"{base}/healthz")
    without_http = processes(["--db", db, "serve", "--nats", own_nats.url, "--no-http"],
                             {"OSMO_METRICS": f"127.0.0.1:{exporter_port}", "OSMO_LOG_FORMAT": "json"})
    without_http.wait_ready(exporter)

    http_traffic(base, report_key, admin_key)
    asyncio.run(nats_traffic(own_nats.url))

    def settled() -> bool:
        both = [(k, v) for url in (f"{base}/metrics", exporter) for k, v in sample_values(url).items()]
        store = max(v for k, v in both if k == "osmo_store_position")
        relayed = [v for k, v in both if k.startswith("osmo_relay_position{")]
        reports = sum(v for k, v in both if k.startswith("osmo_nats_reports_total{"))
        return reports >= 21 and bool(relayed) and max(relayed) == store > 0 and any(
            k.startswith("osmo_webhook_deliveries_total{") for k, _ in both)

    wait_until(settled, 30, "the reports recorded, the events relayed, a webhook attempt")
    exported = sample_names(f"{base}/metrics") | sample_names(exporter)
    missing = queried_metrics(dashboard()) - exported
    assert not missing, f"the dashboard queries metrics no osmo exports: {sorted(missing)}"

    # the process without HTTP exports the pipeline's gauges on its own port
    alone = sample_values(exporter)
    for name in ("osmo_store_position", "osmo_backfill_games_total", 'osmo_relay_lag_positions{stream="OSMO_EVENTS"}',
                 'osmo_jetstream_consumer_pending{consumer="osmo-recorder",stream="OSMO_REPORTS"}'):
        assert name in alone, name
    # games and unlocks are counted for NATS ingest too, not only HTTP
    recorded = sum(v for k, v in alone.items() if k == "osmo_games_recorded_total") + sum(
        v for k, v in sample_values(f"{base}/metrics").items() if k == "osmo_games_recorded_total")
    assert recorded == 3 + 20 + 1
    served = {**sample_values(f"{base}/metrics")}
    assert served['osmo_http_requests_total{method="POST",route="/v1/games",status="201"}'] == 1
    assert served["osmo_backfill_games_total"] == 3 and served["osmo_backfill_running"] == 0

    assert with_http.stop() == 0 and without_http.stop() == 0
    # the NATS process logs one JSON line per batch with its counts and outcome
    batches = [json.loads(line) for line in without_http.lines if '"osmo.nats.recorder"' in line]
    lines = [b for b in batches if b["msg"].startswith("batch of")]
    for line in lines:
        assert {"size", "recorded", "duplicates", "rejected", "retried", "latency_ms", "outcome"} <= set(line)
