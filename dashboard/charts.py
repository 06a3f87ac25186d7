"""Plotly figures shared by pages: data in, figure out, titles already translated."""

from __future__ import annotations

import plotly.graph_objects as go

PALETTE = ["#3b5bdb", "#0ca678", "#f59f00", "#e8590c", "#ae3ec9", "#1098ad", "#74b816", "#f03e3e", "#868e96"]


def bar(
    labels: list[str], values: list[int], title: str, *, horizontal: bool = False, value_label: str = ""
) -> go.Figure:
    total = sum(values) or 1
    text = [f"{v:,} ({v / total:.1%})" for v in values]
    if horizontal:
        trace = go.Bar(
            y=labels,
            x=values,
            orientation="h",
            text=text,
            marker_color=PALETTE[0],
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    else:
        trace = go.Bar(
            x=labels,
            y=values,
            text=text,
            marker_color=PALETTE[: len(values)],
            hovertemplate="%{x}: %{y:,}<extra></extra>",
        )
    fig = go.Figure(trace)
    fig.update_traces(textposition="outside", textangle=0, cliponaxis=False)
    fig.update_layout(
        title=title,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=320,
        separators=".,",
        yaxis={"autorange": "reversed"} if horizontal else {},
        xaxis_title=value_label if horizontal else None,
        yaxis_title=None if horizontal else value_label,
    )
    return fig


def funnel(labels: list[str], values: list[int], title: str) -> go.Figure:
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=values,
            texttemplate="%{value:,}<br>%{percentPrevious:.1%}",
            marker={"color": PALETTE[: len(values)]},
        )
    )
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=320, separators=".,")
    return fig


def trend(
    periods: list[str], rates: list[float | None], complete: list[bool], title: str, incomplete_label: str
) -> go.Figure:
    """Conversion by period: complete periods solid, incomplete ones hollow and named in the legend."""
    fig = go.Figure()
    for done, name, symbol in ((True, title, "circle"), (False, incomplete_label, "circle-open")):
        xs = [p for p, c in zip(periods, complete, strict=True) if c == done]
        ys = [r for r, c in zip(rates, complete, strict=True) if c == done]
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="markers+lines" if done else "markers",
                    name=name,
                    marker={"symbol": symbol, "size": 9, "color": PALETTE[0 if done else 2]},
                )
            )
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=300,
        yaxis={"tickformat": ".0%"},
        separators=".,",
        title=title,
    )
    return fig
