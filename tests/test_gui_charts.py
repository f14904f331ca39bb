"""The dashboard's charts draw what they are given and nothing more (G-07)."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from desktopapp.ui.charts import LineChart

pytestmark = pytest.mark.gui


def test_a_hidden_point_is_a_gap_in_the_line_not_a_zero(qtbot: QtBot) -> None:
    chart = LineChart("visits")
    qtbot.addWidget(chart)
    chart.show_series(["Mon", "Tue", "Wed", "Thu"], [[7, None, 0, 9]])
    (curve,) = chart.plot.getPlotItem().listDataItems()
    xs, ys = curve.getData()
    assert list(xs) == [0, 1, 2, 3]
    assert ys[0] == 7 and np.isnan(ys[1]) and ys[2] == 0 and ys[3] == 9
    assert chart.series == [[7, None, 0, 9]]
    # The scale follows the shown counts only.
    low, high = chart.plot.getPlotItem().viewRange()[1]
    assert low == 0 and 9 <= high < 11


def test_a_line_of_only_hidden_points_still_has_a_scale(qtbot: QtBot) -> None:
    chart = LineChart("visits")
    qtbot.addWidget(chart)
    chart.show_series(["Mon", "Tue"], [[None, None]])
    low, high = chart.plot.getPlotItem().viewRange()[1]
    assert low == 0 and high > 0
