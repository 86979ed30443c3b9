"""The summary's two plots (matplotlib, base64 PNGs), drawn by a process of their own.

Importing matplotlib takes a quarter to half a second, as long as reading a
class of thousands from the gradebook. `SummaryPlots` forks a process that
imports it at once, so that `autograder report` reads the grades meanwhile;
the plots' data (scores and pass rates) goes to it, and the PNGs come back,
as JSON over a pipe. The plotter is forked before any page writer and never
sees a notebook: everything it handles is the trusted side's.
"""

from __future__ import annotations

import base64
import io
import json
import multiprocessing
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BAR_COLOUR = "#1f77b4"


def _figure(height: float) -> tuple[Figure, Axes]:
    """A page-wide figure (inches) with one set of axes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, height), layout="constrained")
    return figure, figure.add_subplot()


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(scores: list[float], max_score: float) -> str:
    """The distribution of scores, as a base64 PNG; empty when there is no score."""
    if not scores:
        return ""
    figure, axes = _figure(height=3.2)
    axes.hist(scores, bins=10, range=(0, max_score or 1.0), color=BAR_COLOUR, edgecolor="white")
    axes.set(xlabel="score", ylabel="students", title="Score distribution")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def pass_rate_chart(pass_rates: dict[str, float]) -> str:
    """Each test's pass rate (test name -> share of students) as a horizontal bar, as a base64 PNG; empty
    when there is no test."""
    if not pass_rates:
        return ""
    figure, axes = _figure(height=0.8 + 0.32 * len(pass_rates))
    bars = axes.barh(list(pass_rates), [100 * rate for rate in pass_rates.values()], color=BAR_COLOUR)
    axes.bar_label(bars, fmt="%.0f %%", padding=3)
    axes.invert_yaxis()
    axes.set(xlim=(0, 100), xlabel="students who passed (%)", title="Pass rate per test")
    return _png(figure)


def _plotter(connection: Connection, reports_end: Connection) -> None:
    """The plotting process: matplotlib first, then one request, one answer. It ends when the report does:
    the pipe's end of file says so, once this process has closed its copy of the report's end."""
    reports_end.close()
    import matplotlib.figure  # noqa: F401  (the point of this process: imported while the grades load)

    with connection:
        try:
            request = json.loads(connection.recv_bytes())
        except EOFError:  # the report stopped before it needed the plots
            return
        connection.send_bytes(json.dumps([score_histogram(request["scores"], request["max_score"]),
                                          pass_rate_chart(request["pass_rates"])]).encode())


class SummaryPlots:
    """A forked plotter, started early: `draw` gives the histogram and the pass-rate chart. A context
    manager; `close` stops the plotter if it was never asked."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_plotter, args=(theirs, self._connection), name="summary plots",
                                        daemon=True)
        self._process.start()
        theirs.close()

    def draw(self, scores: list[float], max_score: float, pass_rates: dict[str, float]) -> tuple[str, str]:
        """(histogram, pass-rate chart) as base64 PNGs, each empty where it has nothing to show."""
        request = {"scores": scores, "max_score": max_score, "pass_rates": pass_rates}
        try:
            self._connection.send_bytes(json.dumps(request).encode())
            histogram, pass_rate = json.loads(self._connection.recv_bytes())
        except (EOFError, BrokenPipeError):
            raise RuntimeError("drawing the summary's plots failed (the plotter's error is above)") from None
        return histogram, pass_rate

    def close(self) -> None:
        self._connection.close()
        self._process.join()

    def __enter__(self) -> SummaryPlots:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
