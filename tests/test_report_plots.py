"""The summary's plots, drawn by a forked plotter: PNGs back over a pipe, or an error that says so."""

from __future__ import annotations

import base64

import pytest

from autograder import report_plots
from autograder.report_plots import SummaryPlots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_plotter_draws_both_plots_as_png():
    with SummaryPlots() as plots:
        histogram, pass_rates = plots.draw([1.0, 2.0, 2.5, 4.0], 4.0, {"test_a": 0.5, "test_b": 1.0})
    assert base64.b64decode(histogram).startswith(PNG_SIGNATURE)
    assert base64.b64decode(pass_rates).startswith(PNG_SIGNATURE)


def test_nothing_to_plot_gives_empty_plots():
    with SummaryPlots() as plots:
        assert plots.draw([], 0.0, {}) == ("", "")


def test_a_plotter_that_fails_fails_the_draw_with_a_message(monkeypatch, capfd):
    def broken(scores, max_score):
        raise ValueError("matplotlib broke")

    monkeypatch.setattr(report_plots, "score_histogram", broken)  # the forked plotter inherits it
    with SummaryPlots() as plots, pytest.raises(RuntimeError, match="summary's plots failed"):
        plots.draw([1.0], 1.0, {})
    assert "matplotlib broke" in capfd.readouterr().err


def test_a_plotter_never_asked_ends_when_closed():
    plots = SummaryPlots()
    plots.close()
    assert plots._process.exitcode == 0
