"""The course's plots, drawn with matplotlib from data a notebook has queried (never queried here).

Each function takes DataFrames, draws one figure and returns it, closed: Jupyter shows it once, as the
cell's result, however the kernel's matplotlib backend is set up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import same_color
from matplotlib.figure import Figure
from matplotlib.patches import Patch

FRESH = "#2b8a3e"
STALE = "#c92a2a"
NEUTRAL = "#868e96"
SOURCE = "#1971c2"
# JupyterLab shows a figure at most about this wide (inches at its 100 dpi) before scaling it down to fit.
FIGURE_MAX_WIDTH = 11.0
GRAPH_FONT_SIZE = 10


def _dollars(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(lambda value, _: f"${value:,.0f}")


def _legend_beside(ax: Axes, handles: list, **kwargs) -> None:
    """The legend right of the axes, where it covers nothing drawn; a patch is listed only when a bar of its
    colour is drawn, so the legend never explains a colour the plot does not show."""
    drawn = [bar.get_facecolor() for bar in ax.patches]
    kept = [h for h in handles
            if not isinstance(h, Patch) or any(same_color(h.get_facecolor(), c) for c in drawn)]
    ax.legend(handles=kept, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, fontsize=8, **kwargs)


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs the columns {', '.join(missing)}; it got {', '.join(map(str, frame.columns))}")


def revenue_cliff(staging: pd.DataFrame, mart: pd.DataFrame) -> Figure:
    """Daily revenue as staging computes it (bars) against what the mart holds (line): the cliff after the
    mart's last date, in red, when there is one. Both frames: ``order_date``, ``revenue`` (in $)."""
    _require(staging, ["order_date", "revenue"], "revenue_cliff(staging=...)")
    _require(mart, ["order_date", "revenue"], "revenue_cliff(mart=...)")
    staging = staging.sort_values("order_date")
    mart = mart.sort_values("order_date")
    dates = pd.to_datetime(staging["order_date"])
    mart_dates = pd.to_datetime(mart["order_date"])
    last_in_mart = mart_dates.max()
    missing = dates > last_in_mart if len(mart) else pd.Series(True, index=dates.index)
    colors = [STALE if m else NEUTRAL for m in missing]

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(dates, staging["revenue"].astype(float), color=colors, width=0.8)
    ax.plot(mart_dates, mart["revenue"].astype(float), color=FRESH, marker="o", linewidth=2)
    if missing.any():
        title = "Daily revenue: staging vs the mart (red bars: days the dashboard does not show)"
        if len(mart):
            ax.axvline(last_in_mart, color=STALE, linestyle="--", linewidth=1)
            # inside the axes, on the side of the line with room: the missing days are to its right
            ax.annotate(f"mart stops at {last_in_mart:%b %d}", (last_in_mart, 0.95), xycoords=("data", "axes fraction"),
                        xytext=(-6, 0), textcoords="offset points", ha="right", va="top", color=STALE)
    else:
        title = f"Daily revenue: staging vs the mart (the mart has every day, through {last_in_mart:%b %d})"
    ax.set_title(title)
    ax.set_xlabel("order date")
    ax.set_ylabel("revenue ($, returned orders excluded)")
    _dollars(ax)
    _legend_beside(ax, [Patch(color=NEUTRAL, label="staging, a day the mart has"),
                        Patch(color=STALE, label="staging, a day the mart lacks"),
                        plt.Line2D([], [], color=FRESH, marker="o", linewidth=2,
                                   label="mart fct_revenue_daily\n(what the dashboard shows)")])
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
                    textcoords="offset points", ha="center", va="bottom", fontsize=8, color="black")
    top = max(dashboard.max() if dashboard.notna().any() else 0, finance.max() if finance.notna().any() else 0)
    ax.set_ylim(0, (top or 1) * 1.12)
    _dollars(ax)
    ax.set_xticks(list(x), [f"{pd.Timestamp(d):%a %b %d}" for d in daily["revenue_date"]], rotation=45,
                  ha="right", fontsize=8)
    ax.set_xlabel("order date")
    ax.set_ylabel("revenue of completed orders ($)")
    ax.set_title("Revenue per day: the dashboard against finance's books (above the bars: dashboard ÷ finance)")
    _legend_beside(ax, [Patch(color=NEUTRAL, label="finance's books (booked_revenue)"),
                        Patch(color=STALE, label="dashboard (fct_revenue_daily),\ndiffers from finance"),
                        Patch(color=FRESH, label="dashboard (fct_revenue_daily),\nagrees with finance")])
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
    _legend_beside(ax, [Patch(color=FRESH, label="one line: still one row"),
                        Patch(color=STALE, label="several lines: one row per line")])
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
    phantoms = not runs["includes_marts"].astype(bool).all()
    green = "status" in runs and (runs["status"] == "success").all()
    ax.set_title(f"Run durations: {'every run was green, ' if green else ''}"
                 + ("the short ones did not refresh the marts" if phantoms else "every run refreshed the marts"))
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color=FRESH, label="selector reaches the marts"),
                Patch(color=STALE, label="staging only (phantom success)")]
    _legend_beside(ax, handles)
    fig.tight_layout()
    plt.close(fig)
    return fig


def layers(names: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
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
    depth = layers(names, pairs)
    by_layer: dict[int, list[str]] = {}
    for name in names:
        by_layer.setdefault(depth[name], []).append(name)
    position = {}
    for layer, members in by_layer.items():
        for i, name in enumerate(members):
            position[name] = (layer, (len(members) - 1) / 2 - i)
    tallest = max(len(m) for m in by_layer.values())

    panels = list(selections.items())
    # One panel under the other, each as wide as a notebook shows a figure unscaled: names stay readable.
    width = min(FIGURE_MAX_WIDTH, 2.8 * (max(depth.values()) + 1))
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, len(panels) * (0.45 * tallest + 1.2) + 0.4),
                             squeeze=False)
    shown: dict[str, str] = {}
    for ax, (selector, chosen) in zip(axes[:, 0], panels):
        chosen = set(chosen)
        boxes = {}
        for name in names:
            x, y = position[name]
            kind = kinds[name]
            if kind == "source":
                color, meaning = SOURCE, "sources"
            elif name in chosen:
                color, meaning = FRESH, "selected"
            elif kind == "model":
                color, meaning = STALE, "models left out"
            else:
                color, meaning = NEUTRAL, "tests left out"
            shown[meaning] = color
            weight = "bold" if kind == "model" else "normal"
            label = ax.text(x, y, name, ha="center", va="center", fontsize=GRAPH_FONT_SIZE, color="white",
                            weight=weight,
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
        ax.set_title(f"dbt run --select {selector}" if selector != "all" else "dbt run (all)", fontsize=12)
        ax.text(0.5, -0.02, "models left out: " + (", ".join(left_out) or "none"), transform=ax.transAxes,
                ha="center", va="top", fontsize=GRAPH_FONT_SIZE, color=STALE if left_out else FRESH)
    order = {SOURCE: 0, FRESH: 1, STALE: 2, NEUTRAL: 3}
    key = sorted(shown.items(), key=lambda item: order[item[1]])
    fig.legend(handles=[Patch(color=color, label=meaning) for meaning, color in key], loc="upper center",
               ncols=len(key), fontsize=GRAPH_FONT_SIZE, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    plt.close(fig)
    return fig
