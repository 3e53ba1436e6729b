"""Reading the marks back off a drawn figure, for the tests of figures."""

import numpy as np


def point_medians(axes) -> list[list[float]]:
    """The estimates of a seaborn point plot, one list per hue in drawing order: the lines with markers and
    more than one point or a single category (its whiskers are marker-less two-point lines)."""
    return [[float(y) for y in line.get_ydata() if np.isfinite(y)] for line in axes.lines
            if line.get_marker() not in (None, "None", "") and len(line.get_xdata())]
