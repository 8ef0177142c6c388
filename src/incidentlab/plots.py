"""The course's plots, drawn with matplotlib from data a notebook has queried (never queried here).

Each function takes DataFrames, draws one figure and returns it, closed: Jupyter shows it once, as the
cell's result, however the kernel's matplotlib backend is set up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

FRESH = "#2b8a3e"
STALE = "#c92a2a"
NEUTRAL = "#868e96"
SOURCE = "#1971c2"


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs the columns {', '.join(missing)}; it got {', '.join(map(str, frame.columns))}")


def revenue_cliff(staging: pd.DataFrame, mart: pd.DataFrame) -> Figure:
    """Daily revenue as staging computes it (bars) against what the mart holds (line): the cliff after the
    mart's last date. Both frames: ``order_date``, ``revenue``."""
    _require(staging, ["order_date", "revenue"], "revenue_cliff(staging=...)")
    _require(mart, ["order_date", "revenue"], "revenue_cliff(mart=...)")
    staging = staging.sort_values("order_date")
    mart = mart.sort_values("order_date")
    last_in_mart = pd.to_datetime(mart["order_date"]).max()
    dates = pd.to_datetime(staging["order_date"])
    colors = [STALE if d > last_in_mart else NEUTRAL for d in dates]

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(dates, staging["revenue"].astype(float), color=colors, width=0.8, label="staging (what raw holds)")
    ax.plot(pd.to_datetime(mart["order_date"]), mart["revenue"].astype(float), color=FRESH, marker="o",
            linewidth=2, label="mart fct_revenue_daily (what the dashboard shows)")
    ax.axvline(last_in_mart, color=STALE, linestyle="--", linewidth=1)
    ax.annotate(f"mart stops at {last_in_mart:%b %d}", (last_in_mart, ax.get_ylim()[1] * 0.92),
                xytext=(-8, 0), textcoords="offset points", ha="right", color=STALE)
    ax.set_title("Daily revenue: staging vs the mart (red bars: days the dashboard does not show)")
    ax.set_xlabel("order date")
    ax.set_ylabel("revenue (returned orders excluded)")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    plt.close(fig)
    return fig


def revenue_vs_finance(daily: pd.DataFrame) -> Figure:
    """Revenue per day as the dashboard shows it (the mart) next to what finance booked, with the ratio of the
    two above each pair of bars; the dashboard's bar is green on the days it agrees with finance within a cent.

    ``daily``: ``revenue_date``, ``dashboard_revenue``, ``finance_revenue`` (a day the mart lacks: null).
    """
    _require(daily, ["revenue_date", "dashboard_revenue", "finance_revenue"], "revenue_vs_finance")
    daily = daily.sort_values("revenue_date").reset_index(drop=True)
    dashboard = pd.to_numeric(daily["dashboard_revenue"], errors="coerce").astype(float)
    finance = pd.to_numeric(daily["finance_revenue"], errors="coerce").astype(float)
    agrees = (dashboard - finance).abs() <= 0.01
    x = range(len(daily))
    width = 0.4

    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.bar([i - width / 2 for i in x], finance.fillna(0), width, color=NEUTRAL)
    ax.bar([i + width / 2 for i in x], dashboard.fillna(0), width, color=[FRESH if a else STALE for a in agrees])
    for i, (shown, booked) in enumerate(zip(dashboard, finance)):
        label = "missing" if pd.isna(shown) else (f"×{shown / booked:.2f}" if booked else "")
        ax.annotate(label, (i + width / 2, 0 if pd.isna(shown) else shown), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7, color="black")
    top = max(dashboard.max() if dashboard.notna().any() else 0, finance.max() if finance.notna().any() else 0)
    ax.set_ylim(0, (top or 1) * 1.12)
    ax.yaxis.set_major_formatter(lambda value, _: f"${value:,.0f}")
    ax.set_xticks(list(x), [f"{pd.Timestamp(d):%a %b %d}" for d in daily["revenue_date"]], rotation=45,
                  ha="right", fontsize=8)
    ax.set_xlabel("order date")
    ax.set_ylabel("revenue of completed orders ($)")
    ax.set_title("Revenue per day: the dashboard against finance's books (above the bars: dashboard ÷ finance)")
    ax.legend(handles=[Patch(color=NEUTRAL, label="finance's books (booked_revenue)"),
                       Patch(color=STALE, label="dashboard (fct_revenue_daily),\ndiffers from finance"),
                       Patch(color=FRESH, label="dashboard (fct_revenue_daily),\nagrees with finance")],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)  # beside the axes: it covers no bar
    fig.tight_layout()
    plt.close(fig)
    return fig


def lines_per_order(counts: pd.DataFrame) -> Figure:
    """How many orders have 1, 2, 3... line items: the number of rows each order becomes when the line items
    are joined to the orders. Single-line orders keep one row; the others fan out.

    ``counts``: ``lines`` (line items in an order), ``orders`` (how many orders have that many).
    """
    _require(counts, ["lines", "orders"], "lines_per_order")
    counts = counts.sort_values("lines").reset_index(drop=True)
    lines = counts["lines"].astype(int)
    orders = counts["orders"].astype(int)
    colors = [FRESH if n == 1 else STALE for n in lines]

    fig, ax = plt.subplots(figsize=(8, 4))
    bars = ax.bar(lines, orders, color=colors, width=0.7)
    ax.bar_label(bars, [f"{o} orders\n→ {o * n} rows" for o, n in zip(orders, lines)], fontsize=8, padding=2)
    ax.set_ylim(0, orders.max() * 1.3)
    ax.set_xticks(list(lines))
    ax.set_xlabel("line items in the order (= rows the order becomes in the joined stg_orders)")
    ax.set_ylabel("orders")
    ax.set_title("Orders by number of line items (from raw_order_items)")
    ax.legend(handles=[Patch(color=FRESH, label="one line: still one row"),
                       Patch(color=STALE, label="several lines: one row per line")],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)  # beside the axes: it covers no bar
    fig.tight_layout()
    plt.close(fig)
    return fig


def run_durations(runs: pd.DataFrame, threshold: float = 0.5) -> Figure:
    """Each run's duration, coloured by whether its selector reached the marts, with its trailing 7-day
    average and the alert line at ``threshold`` times that average.

    ``runs``: ``run_id``, ``run_date``, ``duration_seconds``, ``includes_marts``, ``trailing_avg_duration_7d``
    (as in ``stg_pipeline_runs``).
    """
    _require(runs, ["run_id", "run_date", "duration_seconds", "includes_marts", "trailing_avg_duration_7d"],
             "run_durations")
    runs = runs.sort_values("run_date").reset_index(drop=True)
    x = range(len(runs))
    colors = [FRESH if full else STALE for full in runs["includes_marts"]]

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(x, runs["duration_seconds"], color=colors)
    avg = runs["trailing_avg_duration_7d"].astype(float)
    ax.plot(x, avg, color="black", marker=".", label="trailing 7-day average")
    ax.plot(x, avg * threshold, color=STALE, linestyle="--", label=f"alert below {threshold:g} × the average")
    ax.set_xticks(list(x), [f"{r.run_id}\n{r.run_date:%b %d %H:%M}" for r in runs.itertuples()], rotation=90,
                  fontsize=8)
    ax.set_ylabel("duration (seconds)")
    ax.set_title("Run durations: every run was green, the short ones did not refresh the marts")
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color=FRESH, label="selector reaches the marts"),
                Patch(color=STALE, label="staging only (phantom success)")]
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _layers(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's depth: 0 for nodes without parents, else one more than its deepest parent."""
    parents: dict[str, list[str]] = {n: [] for n in names}
    for parent, child in edges:
        if parent in parents and child in parents:
            parents[child].append(parent)
    depth: dict[str, int] = {}

    def visit(node: str, path: tuple[str, ...] = ()) -> int:
        if node in path:
            raise ValueError(f"the graph has a cycle through {node}")
        if node not in depth:
            depth[node] = 1 + max((visit(p, path + (node,)) for p in parents[node]), default=-1)
        return depth[node]

    for name in names:
        visit(name)
    return depth


def model_graph(nodes: pd.DataFrame, edges: pd.DataFrame, selections: Mapping[str, Iterable[str]]) -> Figure:
    """dbt's graph drawn in layers (sources, staging, marts, tests), once per selector: green nodes are the
    ones the selector runs, red models the ones it leaves out.

    ``nodes``: ``name``, ``resource_type`` (as in ``dbt_graph.nodes``); ``edges``: ``parent``, ``child``;
    ``selections``: selector -> the names it selects (as in ``dbt_graph.selections``).
    """
    _require(nodes, ["name", "resource_type"], "model_graph(nodes=...)")
    _require(edges, ["parent", "child"], "model_graph(edges=...)")
    names = sorted(nodes["name"])
    kinds = dict(zip(nodes["name"], nodes["resource_type"]))
    pairs = [(p, c) for p, c in zip(edges["parent"], edges["child"]) if p in kinds and c in kinds]
    depth = _layers(names, pairs)
    by_layer: dict[int, list[str]] = {}
    for name in names:
        by_layer.setdefault(depth[name], []).append(name)
    position = {}
    for layer, members in by_layer.items():
        for i, name in enumerate(members):
            position[name] = (layer, (len(members) - 1) / 2 - i)
    tallest = max(len(m) for m in by_layer.values())

    panels = list(selections.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 0.55 * tallest + 1.6), squeeze=False)
    for ax, (selector, chosen) in zip(axes[0], panels):
        chosen = set(chosen)
        boxes = {}
        for name in names:
            x, y = position[name]
            kind = kinds[name]
            if kind == "source":
                color = SOURCE
            elif name in chosen:
                color = FRESH
            else:
                color = STALE if kind == "model" else NEUTRAL
            weight = "bold" if kind == "model" else "normal"
            label = ax.text(x, y, name, ha="center", va="center", fontsize=8, color="white", weight=weight,
                            bbox={"boxstyle": "round,pad=0.3", "facecolor": color, "edgecolor": "none"})
            boxes[name] = label.get_bbox_patch()
        for parent, child in pairs:  # arrows end at the boxes' edges, so their heads show
            ax.annotate("", position[child], position[parent],
                        arrowprops={"arrowstyle": "-|>", "color": "#868e96", "patchA": boxes[parent],
                                    "patchB": boxes[child], "shrinkA": 2, "shrinkB": 2})
        ax.set_xlim(-0.6, max(depth.values()) + 0.6)
        ax.set_ylim(-tallest / 2 - 0.2, tallest / 2 + 0.2)
        ax.axis("off")
        left_out = sorted(n for n in names if kinds[n] == "model" and n not in chosen)
        ax.set_title(f"dbt run --select {selector}" if selector != "all" else "dbt run (all)", fontsize=11)
        ax.text(0.5, -0.02, "models left out: " + (", ".join(left_out) or "none"), transform=ax.transAxes,
                ha="center", va="top", fontsize=9, color=STALE if left_out else FRESH)
    fig.suptitle("blue: sources   green: selected   red: models left out   grey: tests left out", fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig
