"""The course's plots draw from the data they are given, with titles and labels, and say what is missing."""

from __future__ import annotations

import datetime as dt
import re

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

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
    assert plots.layers(["src", "stg", "mart"], [("src", "stg"), ("stg", "mart")]) == {"src": 0, "stg": 1, "mart": 2}


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
        plots.layers(["a", "b"], [("a", "b"), ("b", "a")])


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="revenue"):
        plots.revenue_cliff(pd.DataFrame({"order_date": []}), pd.DataFrame({"order_date": [], "revenue": []}))
    with pytest.raises(ValueError, match="finance_revenue"):
        plots.revenue_vs_finance(pd.DataFrame({"revenue_date": [], "dashboard_revenue": []}))


# The rule for every plot: its words describe what it draws. Each plot is built with and without the case it
# highlights (in red); the title speaks of red bars and the legend of a colour only when such bars are drawn, the
# legend covers no bar or line, no text leaves the figure, and text stays readable at notebook width.
def _runs(phantoms: bool) -> pd.DataFrame:
    n = 10
    full = [True] * 7 + [not phantoms] * 3
    return pd.DataFrame({
        "run_id": [f"run_{i:03d}" for i in range(n)],
        "run_date": pd.date_range("2024-02-01 18:00", periods=n, freq="D"),
        "duration_seconds": [145 if f else 40 for f in full],
        "includes_marts": full,
        "trailing_avg_duration_7d": [145.0] * n,
        "status": ["success"] * n,
    })


def _graph(left_out: bool):
    nodes = pd.DataFrame({"name": ["acme.raw_orders", "stg_orders", "fct_revenue_daily", "assert_freshness"],
                          "resource_type": ["source", "model", "model", "test"]})
    edges = pd.DataFrame({"parent": ["acme.raw_orders", "stg_orders", "fct_revenue_daily"],
                          "child": ["stg_orders", "fct_revenue_daily", "assert_freshness"]})
    chosen = ["stg_orders"] if left_out else ["stg_orders", "fct_revenue_daily", "assert_freshness"]
    return plots.model_graph(nodes, edges, {"all": ["stg_orders", "fct_revenue_daily", "assert_freshness"],
                                            "staging.*": chosen})


_STAGING = pd.DataFrame({"order_date": _days(8), "revenue": [100.0 + 10 * i for i in range(8)]})
PLOTS = {
    "revenue_cliff, mart behind": (lambda: plots.revenue_cliff(_STAGING, _STAGING.head(5)), True),
    "revenue_cliff, mart caught up": (lambda: plots.revenue_cliff(_STAGING, _STAGING), False),
    "revenue_vs_finance, differs": (lambda: plots.revenue_vs_finance(pd.DataFrame({
        "revenue_date": _days(4), "dashboard_revenue": [300.0, 310, 320, None],
        "finance_revenue": [100.0, 110, 120, 130]})), True),
    "revenue_vs_finance, agrees": (lambda: plots.revenue_vs_finance(pd.DataFrame({
        "revenue_date": _days(4), "dashboard_revenue": [100.0, 110, 120, 130],
        "finance_revenue": [100.0, 110, 120, 130]})), False),
    "lines_per_order, fan-out": (lambda: plots.lines_per_order(pd.DataFrame({"lines": [1, 2, 3], "orders": [9, 5, 2]})),
                                 True),
    "lines_per_order, one line each": (lambda: plots.lines_per_order(pd.DataFrame({"lines": [1], "orders": [9]})),
                                       False),
    "run_durations, phantom runs": (lambda: plots.run_durations(_runs(phantoms=True)), True),
    "run_durations, every run full": (lambda: plots.run_durations(_runs(phantoms=False)), False),
    "model_graph, models left out": (lambda: _graph(left_out=True), True),
    "model_graph, nothing left out": (lambda: _graph(left_out=False), False),
}
# JupyterLab shows a figure at 100 dpi, scaled down to the notebook's width when wider.
READABLE_PT = 7.5


def _red(artist) -> bool:
    return matplotlib.colors.same_color(artist.get_facecolor(), plots.STALE)


def _words(fig) -> str:
    texts = [fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    legends = [ax.get_legend() for ax in fig.axes] + fig.legends
    texts += [t.get_text() for legend in legends if legend for t in legend.get_texts()]
    return "\n".join(texts)


@pytest.mark.parametrize("name", PLOTS)
def test_a_plot_says_red_only_when_it_draws_red(name):
    build, highlighted = PLOTS[name]
    fig = build()
    red_boxes = [t for ax in fig.axes for t in ax.texts if t.get_bbox_patch() and _red(t.get_bbox_patch())]
    red = any(_red(bar) for ax in fig.axes for bar in ax.patches) or bool(red_boxes)
    assert red == highlighted, "the case this plot highlights is drawn in red, and only then"
    words = _words(fig).lower()
    keys = [h for legend in [ax.get_legend() for ax in fig.axes] + fig.legends if legend
            for h in legend.legend_handles if isinstance(h, matplotlib.patches.Rectangle)]
    explained = bool(re.search(r"\bred\b", words)) or any(_red(h) for h in keys)
    drawn = "without" if not red else "nowhere, but draw"
    assert explained == red, f"title and legend explain red {drawn} red:\n{words}"
    for legend in [ax.get_legend() for ax in fig.axes] + fig.legends:
        if legend is None:
            continue
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            if isinstance(handle, matplotlib.patches.Rectangle):  # a colour key: that colour is drawn
                drawn = [bar.get_facecolor() for ax in fig.axes for bar in ax.patches]
                drawn += [t.get_bbox_patch().get_facecolor() for ax in fig.axes for t in ax.texts if t.get_bbox_patch()]
                assert any(matplotlib.colors.same_color(handle.get_facecolor(), c) for c in drawn), text.get_text()


@pytest.mark.parametrize("name", PLOTS)
def test_a_plot_keeps_its_words_readable_and_off_what_it_draws(name):
    fig = PLOTS[name][0]()
    FigureCanvasAgg(fig).draw()  # the plots return closed figures; lay one out as the inline backend would
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    scale = min(1.0, plots.FIGURE_MAX_WIDTH / fig.get_figwidth())
    texts = list(fig.texts) + [t for legend in fig.legends for t in legend.get_texts()]
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += [t for t in ax.get_legend().get_texts()] if ax.get_legend() else []
        for axis in (ax.xaxis, ax.yaxis) if ax.axison else ():
            low, high = sorted(axis.get_view_interval())
            texts += [label for tick, label in zip(axis.get_ticklocs(), axis.get_ticklabels()) if low <= tick <= high]
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    for text in texts:
        box = text.get_window_extent(renderer)
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, \
            f"{text.get_text()!r} leaves the figure"
        assert text.get_fontsize() * scale >= READABLE_PT, f"{text.get_text()!r} is too small at notebook width"
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        area = legend.get_window_extent(renderer)
        for bar in ax.patches:
            assert not area.overlaps(bar.get_window_extent(renderer)), f"the legend covers a bar of {name}"
        for line in ax.get_lines():
            points = ax.transData.transform(line.get_xydata())
            assert not any(area.contains(x, y) for x, y in points), f"the legend covers a line of {name}"
