"""What a figure function returns (Drawn) or raises when it cannot draw (NoData, NotShown), apart from
figures.py so that every module of figures can use them."""

from __future__ import annotations

from dataclasses import dataclass


class NoData(Exception):
    """The figure cannot be drawn from this results set; the message says why."""


class NotShown(NoData):
    """The results set has none of the runs the figure is about (a workload it did not run): the report leaves
    the figure out rather than say so."""


@dataclass(frozen=True)
class Drawn:
    figure: object
    caption: str
