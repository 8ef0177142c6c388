"""The course's plots draw from the data they are given, with titles and labels, and say what is missing."""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from incidentlab import plots  # noqa: E402


def _days(n: int) -> list[dt.date]:
    return [dt.date(2024, 2, 1) + dt.timedelta(days=i) for i in range(n)]


def test_revenue_cliff_marks_the_days_the_mart_lacks():
    staging = pd.DataFrame({"order_date": _days(5), "revenue": [10.0, 20, 30, 40, 50]})
    mart = staging.head(3)
    fig = plots.revenue_cliff(staging, mart)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    colors = [bar.get_facecolor() for bar in ax.patches]
    stale = matplotlib.colors.to_rgba(plots.STALE)
    assert [c == stale for c in colors] == [False, False, False, True, True]


def test_run_durations_colours_runs_by_whether_they_reached_the_marts():
    runs = pd.DataFrame({
        "run_id": ["r1", "r2", "r3"],
        "run_date": pd.to_datetime(["2024-02-01 18:00", "2024-02-02 18:00", "2024-02-03 06:00"]),
        "duration_seconds": [145, 146, 40],
        "includes_marts": [True, True, False],
        "trailing_avg_duration_7d": [None, 145.0, 145.5],
    })
    ax = plots.run_durations(runs).axes[0]
    assert ax.get_ylabel() == "duration (seconds)"
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["r1", "r2", "r3"]
    assert ax.patches[2].get_facecolor() == matplotlib.colors.to_rgba(plots.STALE)


def test_model_graph_draws_one_panel_per_selector_in_layers():
    nodes = pd.DataFrame({"name": ["src", "stg", "mart"], "resource_type": ["source", "model", "model"]})
    edges = pd.DataFrame({"parent": ["src", "stg"], "child": ["stg", "mart"]})
    fig = plots.model_graph(nodes, edges, {"all": ["stg", "mart"], "staging.*": ["stg"]})
    assert len(fig.axes) == 2
    left_out = [t.get_text() for t in fig.axes[1].texts if t.get_text().startswith("models left out")]
    assert left_out == ["models left out: mart"]
    assert plots._layers(["src", "stg", "mart"], [("src", "stg"), ("stg", "mart")]) == {"src": 0, "stg": 1, "mart": 2}


def test_revenue_vs_finance_pairs_each_day_and_colours_the_dashboard_by_agreement():
    daily = pd.DataFrame({"revenue_date": _days(3), "dashboard_revenue": [300.0, 100.0, None],
                          "finance_revenue": [100.0, 100.0, 50.0]})
    ax = plots.revenue_vs_finance(daily).axes[0]
    assert "$" in ax.get_ylabel() and "finance" in ax.get_title() and ax.get_xlabel() == "order date"
    assert len(ax.patches) == 6  # finance's bar and the dashboard's, for each day
    dashboard = [bar.get_facecolor() for bar in ax.patches[3:]]
    rgba = matplotlib.colors.to_rgba
    assert dashboard == [rgba(plots.STALE), rgba(plots.FRESH), rgba(plots.STALE)]
    assert [t.get_text() for t in ax.texts] == ["×3.00", "×1.00", "missing"]
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1  # beside the axes, over no bar


def test_lines_per_order_labels_each_bar_with_its_orders_and_rows():
    counts = pd.DataFrame({"lines": [3, 1, 2], "orders": [4, 10, 5]})
    ax = plots.lines_per_order(counts).axes[0]
    assert ax.get_ylabel() == "orders" and "line items" in ax.get_xlabel() and "line items" in ax.get_title()
    assert [bar.get_height() for bar in ax.patches] == [10, 5, 4]
    assert ax.patches[0].get_facecolor() == matplotlib.colors.to_rgba(plots.FRESH)
    assert ax.patches[2].get_facecolor() == matplotlib.colors.to_rgba(plots.STALE)
    assert [t.get_text() for t in ax.texts] == ["10 orders\n→ 10 rows", "5 orders\n→ 10 rows", "4 orders\n→ 12 rows"]


def test_a_cycle_is_reported():
    with pytest.raises(ValueError, match="cycle"):
        plots._layers(["a", "b"], [("a", "b"), ("b", "a")])


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="revenue"):
        plots.revenue_cliff(pd.DataFrame({"order_date": []}), pd.DataFrame({"order_date": [], "revenue": []}))
    with pytest.raises(ValueError, match="finance_revenue"):
        plots.revenue_vs_finance(pd.DataFrame({"revenue_date": [], "dashboard_revenue": []}))
