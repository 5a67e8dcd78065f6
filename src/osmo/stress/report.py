"""The report folder of a stress run: ``report.md`` and ``report.html`` (the same content, built from one
list of blocks) and the PNG plots next to them (matplotlib, Agg backend)."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from osmo.stress.core import StressResult, percentiles

Block = tuple[str, Any]
"""("h1" | "h2" | "p" | "ul", text or items), ("table", (header, rows)) or ("img", (file, alt))."""


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "font.size": 10})
    return plt


def _throughput(result: StressResult, path: Path) -> None:
    plt = _plt()
    t0 = min(g.due for g in result.games)
    seconds = math.ceil(max([g.recorded or g.due for g in result.games]) - t0) + 1
    asked, done = np.zeros(seconds), np.zeros(seconds)
    for game in result.games:
        asked[int(game.due - t0)] += 1
        if game.recorded is not None:
            done[int(game.recorded - t0)] += 1
    x = np.arange(seconds + 1)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.step(x, np.append(asked, asked[-1]), where="post", color="#999999", linewidth=2.5, alpha=0.8,
            label="asked (reports due in that second)")
    ax.step(x, np.append(done, done[-1]), where="post", color="#1f77b4", linewidth=1.6,
            label="achieved (reports recorded in that second)")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("games per second")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Throughput via {result.plan.via}, {result.plan.servers} game server(s)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _latency(result: StressResult, path: Path) -> None:
    plt = _plt()
    t0 = min(g.due for g in result.games)
    by_second: dict[int, list[float]] = defaultdict(list)
    unlocks: dict[int, list[float]] = defaultdict(list)
    for game in result.games:
        if game.recorded is not None:
            by_second[int(game.due - t0)].append((game.recorded - game.due) * 1000)
        for _, _, at in game.unlocks:
            unlocks[int(game.due - t0)].append((at - game.due) * 1000)
    seconds = sorted(by_second)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    styles = {"p50": ("#2ca02c", "-"), "p90": ("#ff7f0e", "-"), "p99": ("#d62728", "-"), "max": ("#7f7f7f", ":")}
    for key, (color, line) in styles.items():
        ax.plot(seconds, [percentiles(by_second[s])[key] for s in seconds], color=color, linestyle=line,
                linewidth=1.8, label=f"recorded {key}")
    if unlocks:
        times = sorted(unlocks)
        ax.plot(times, [percentiles(unlocks[s])["p99"] for s in times], color="#9467bd", linestyle="--",
                linewidth=1.5, label="unlock seen live p99")
    if result.plan.ramp:
        ax.axhline(result.plan.p99_ms, color="#d62728", alpha=0.4, linewidth=1)
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}"[0] in "25" else ""))
    ax.set_xlabel("seconds since start (by the time each report was due)")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Latency from send to recorded, per second")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=5, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _rarity(result: StressResult, path: Path) -> None:
    plt = _plt()
    counts = result.consistency.unlocks_by_award if result.consistency else {}
    if not counts:
        counts = defaultdict(int)
        for game in result.games:
            for _, award, _ in game.unlocks:
                counts[award] += 1
    players = max(len(result.players), 1)
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(8, max(2.2, 0.35 * len(items) + 1.2)))
    if items:
        shares = [100 * c / players for _, c in items]
        bars = ax.barh([a for a, _ in items], shares, color="#1f77b4")
        for bar, share in zip(bars, shares, strict=True):
            ax.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, f"{share:.0f}%", va="center",
                    fontsize=8)
        ax.set_xlim(0, max(shares) * 1.15 + 1)
    else:
        ax.text(0.5, 0.5, "no award unlocked in this run", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(f"share of the run's {players} players holding the award (%)")
    ax.set_title("Award rarity after the run")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _knee(result: StressResult, path: Path) -> None:
    plt = _plt()
    steps = sorted(result.measured_steps, key=lambda s: s.rate)
    rates = [s.rate for s in steps]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for key, color in (("p50", "#2ca02c"), ("p90", "#ff7f0e"), ("p99", "#d62728")):
        ax.plot(rates, [max(s.latency_ms.get(key, 0.0), 0.1) for s in steps], marker="o", color=color,
                label=f"{key}")
    ax.axhline(result.plan.p99_ms, color="#d62728", alpha=0.5, linestyle="--",
               label=f"p99 bound {result.plan.p99_ms:g} ms")
    if result.knee is not None:
        ax.axvline(result.knee, color="#333333", alpha=0.6, linestyle=":", label=f"knee {result.knee:g} games/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import FuncFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}"[0] in "25" else ""))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}"[0] in "25" else ""))
    ax.set_xlabel("offered load (games per second, log scale)")
    ax.set_ylabel("latency to recorded (ms, log scale)")
    ax.set_title(f"Latency against offered load via {result.plan.via}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=5, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _blocks(result: StressResult, images: list[tuple[str, str]], title: str) -> list[Block]:
    plan, summary = result.plan, result.summary()
    lat, unl = summary["latency_ms"], summary["unlock_latency_ms"]
    consistency = result.consistency
    verdict = "not checked" if consistency is None else ("consistent" if consistency.consistent else "INCONSISTENT")
    blocks: list[Block] = [
        ("h1", title),
        ("p", f"Started {result.started_at:%Y-%m-%d %H:%M:%S} UTC, via **{plan.via}**, {plan.servers} simulated "
              f"game server(s), {len(result.players)} players of its own, "
              + (f"seed {plan.seed}. " if plan.seed is not None else "random seed. ")
              + (f"Ramp from {plan.rate:g} games/s by x{plan.ramp_factor:g} steps of {plan.step_s:g} s, "
                 f"p99 bound {plan.p99_ms:g} ms." if plan.ramp else
                 f"Open loop at {plan.rate:g} games/s (latency counts from each report's due time).")
              + (f" The first {summary['warmup_games']} games were a warm-up: checked like the others, left out of "
                 "the latency figures and the ramp." if summary["warmup_games"] else "")),
        ("h2", "Summary"),
        ("table", (["", "value"], [
            ["games sent / recorded", f"{summary['sent']} / {summary['recorded']}"],
            ["rate asked / achieved", f"{plan.rate:g} / {summary['achieved_rate']:g} games/s" if not plan.ramp
             else f"ramp (below) / {summary['achieved_rate']:g} games/s on average"],
            ["send -> recorded p50 / p90 / p99 / max",
             f"{lat['p50']:g} / {lat['p90']:g} / {lat['p99']:g} / {lat['max']:g} ms"],
            ["send -> unlock seen live p50 / p90 / p99 / max",
             f"{unl['p50']:g} / {unl['p90']:g} / {unl['p99']:g} / {unl['max']:g} ms"],
            ["awards unlocked (seen live / in the store)",
             f"{summary['unlocks_seen']} / {summary['unlocks_stored'] if consistency else '-'}"],
            ["errors", str(summary["errors"])],
            ["consistency", verdict],
            ["run time", f"{result.elapsed:.1f} s"],
        ])),
    ]
    if plan.ramp:
        blocks += [("h2", "Ramp"),
                   ("p", f"Highest rate sustained with p99 under {plan.p99_ms:g} ms: **"
                         + (f"{result.knee:g} games/s" if result.knee is not None else "none of the rates tried")
                         + "** (sustained: every report recorded, no error, at least 90% of the rate achieved)."),
                   ("table", (["asked (games/s)", "achieved", "recorded", "p50 ms", "p99 ms", "max ms", "held"],
                              [[f"{s.rate:g}", f"{s.achieved:g}", f"{s.recorded}/{s.count}",
                                f"{s.latency_ms.get('p50', 0):g}", f"{s.latency_ms.get('p99', 0):g}",
                                f"{s.latency_ms.get('max', 0):g}", "yes" if s.passes(plan.p99_ms) else "no"]
                               for s in result.measured_steps]))]
    blocks += [("h2", "Errors by kind"),
               ("table", (["kind", "count"], [[k, str(v)] for k, v in sorted(result.errors.items())]))
               if result.errors else ("p", "None.")]
    counts = consistency.unlocks_by_award if consistency else {}
    blocks += [("h2", "Awards unlocked"),
               ("table", (["award", "unlocks", "share of the run's players"],
                          [[a, str(c), f"{100 * c / max(len(result.players), 1):.1f}%"]
                           for a, c in sorted(counts.items(), key=lambda kv: -kv[1])]))
               if counts else ("p", "None.")]
    blocks += [("h2", "Consistency check"),
               ("ul", consistency.lines() if consistency else ["Not run (--no-check)."])]
    blocks += [("h2", "Plots")] + [("img", image) for image in images]
    return blocks


def _markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for kind, value in blocks:
        if kind == "h1":
            out.append(f"# {value}")
        elif kind == "h2":
            out.append(f"## {value}")
        elif kind == "p":
            out.append(value)
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in value))
        elif kind == "table":
            header, rows = value
            out.append("\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                                 + ["| " + " | ".join(row) + " |" for row in rows]))
        elif kind == "img":
            out.append(f"![{value[1]}]({value[0]})")
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    """``**bold**`` and ```code``` of the Markdown, in HTML (the text escaped first)."""
    parts = html.escape(text).split("**")
    text = "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _html(blocks: list[Block], title: str) -> str:
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
           "<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}"
           "img{max-width:100%;display:block;margin:1em 0}code{background:#f3f3f3}</style></head><body>"]
    for kind, value in blocks:
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{_inline(value)}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{_inline(value)}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in value) + "</ul>")
        elif kind == "table":
            header, rows = value
            out.append("<table><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in header) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
                       + "</table>")
        elif kind == "img":
            out.append(f'<img src="{html.escape(value[0])}" alt="{html.escape(value[1])}">')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(result: StressResult, folder: Path) -> Path:
    """Write the report folder; returns the path of ``report.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    images: list[tuple[str, str]] = []
    if result.games:
        _throughput(result, folder / "throughput.png")
        _latency(result, folder / "latency.png")
        images += [("throughput.png", "throughput asked and achieved"), ("latency.png", "latency percentiles")]
    if result.plan.ramp and result.measured_steps:
        _knee(result, folder / "knee.png")
        images.append(("knee.png", "latency against offered load"))
    _rarity(result, folder / "rarity.png")
    images.append(("rarity.png", "award rarity"))
    title = "osmo stress " + ("ramp" if result.plan.ramp else "run") + f" via {result.plan.via}"
    blocks = _blocks(result, images, title)
    (folder / "report.md").write_text(_markdown(blocks), encoding="utf-8")
    (folder / "report.html").write_text(_html(blocks, title), encoding="utf-8")
    return folder / "report.md"
