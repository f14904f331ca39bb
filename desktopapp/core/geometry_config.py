"""A camera's floor geometry as settings: calibration pairs, zones, counting lines, congestion.

Plain pydantic models for the settings file, in the style of ``config``. Each model checks
itself by building the core object it describes (``FloorCalibration``, ``Zone``,
``CountingLine``, ``CongestionThresholds``), so the rules and their messages live in one place
and a settings file can never hold a zone the counters would refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from desktopapp.core.counting import (
    CongestionThresholds,
    CountingLine,
    DwellConfig,
    Zone,
    ZoneKind,
)
from desktopapp.core.floor import FloorCalibration, Space

log = logging.getLogger(__name__)

Pair = tuple[float, float]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CalibrationConfig(_Section):
    """Pairs of the same floor spot on the picture and on the plan, both normalised 0..1."""

    image_points: list[Pair] = Field(min_length=4, max_length=16)
    floor_points: list[Pair] = Field(min_length=4, max_length=16)

    @model_validator(mode="after")
    def _fits(self) -> Self:
        self.build()
        return self

    def build(self) -> FloorCalibration:
        return FloorCalibration(tuple(self.image_points), tuple(self.floor_points))


class CongestionConfig(_Section):
    """People in a zone from which it is medium, high and full."""

    medium: int = Field(default=3, ge=1)
    high: int = Field(default=6, ge=2)
    full: int = Field(default=10, ge=3)

    @model_validator(mode="after")
    def _rising(self) -> Self:
        self.build()
        return self

    def build(self) -> CongestionThresholds:
        return CongestionThresholds(self.medium, self.high, self.full)


class ZoneConfig(_Section):
    name: str = Field(min_length=1, max_length=60)
    kind: ZoneKind = ZoneKind.OTHER
    space: Space
    polygon: list[Pair] = Field(min_length=3, max_length=64)
    # A till is crowded with fewer people than the sales floor; None: the camera's thresholds.
    congestion: CongestionConfig | None = None

    @model_validator(mode="after")
    def _valid(self) -> Self:
        self.build()
        return self

    def build(self) -> Zone:
        return Zone(self.name, self.kind, tuple(self.polygon), self.space)


class LineConfig(_Section):
    name: str = Field(min_length=1, max_length=60)
    space: Space
    start: Pair
    end: Pair
    margin: float = 0.02

    @model_validator(mode="after")
    def _valid(self) -> Self:
        self.build()
        return self

    def build(self) -> CountingLine:
        return CountingLine(self.name, self.start, self.end, self.space, self.margin)


class CameraGeometryConfig(_Section):
    """Everything drawn for one camera. FLOOR zones and lines need the calibration."""

    calibration: CalibrationConfig | None = None
    zones: list[ZoneConfig] = Field(default_factory=list, max_length=32)
    lines: list[LineConfig] = Field(default_factory=list, max_length=16)
    congestion: CongestionConfig = Field(default_factory=CongestionConfig)
    # Paths keep at most one floor point per this many seconds (DESIGN: coarse positions).
    path_interval_seconds: float = Field(default=1.0, ge=0.2, le=60.0)
    exit_grace_seconds: float = Field(default=2.0, ge=0.0, le=60.0)
    min_visit_seconds: float = Field(default=0.0, ge=0.0, le=3600.0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for what, names in (
            ("zone", [z.name.strip() for z in self.zones]),
            ("line", [line.name.strip() for line in self.lines]),
        ):
            doubles = sorted({n for n in names if names.count(n) > 1})
            if doubles:
                raise ValueError(f"two {what}s are called {doubles[0]!r}; give each its own name")
        if self.calibration is None:
            drawn: list[ZoneConfig | LineConfig] = [*self.zones, *self.lines]
            for item in drawn:
                if item.space is Space.FLOOR:
                    raise ValueError(
                        f"'{item.name}' is drawn on the floor plan, but this camera has no floor "
                        "calibration yet"
                    )
        return self

    @classmethod
    def of(
        cls,
        zones: Sequence[Zone] = (),
        lines: Sequence[CountingLine] = (),
        calibration: FloorCalibration | None = None,
        congestion: CongestionThresholds | None = None,
    ) -> CameraGeometryConfig:
        """The settings that describe these core objects (the reverse of the builders)."""
        thresholds = congestion or CongestionThresholds()
        return cls(
            calibration=None
            if calibration is None
            else CalibrationConfig(
                image_points=list(calibration.image_points),
                floor_points=list(calibration.floor_points),
            ),
            zones=[
                ZoneConfig(name=z.name, kind=z.kind, space=z.space, polygon=list(z.polygon))
                for z in zones
            ],
            lines=[
                LineConfig(
                    name=line.name,
                    space=line.space,
                    start=line.start,
                    end=line.end,
                    margin=line.margin,
                )
                for line in lines
            ],
            congestion=CongestionConfig(
                medium=thresholds.medium, high=thresholds.high, full=thresholds.full
            ),
        )

    def floor_calibration(self) -> FloorCalibration | None:
        return self.calibration.build() if self.calibration is not None else None

    def zone_list(self) -> tuple[Zone, ...]:
        return tuple(z.build() for z in self.zones)

    def counting_lines(self) -> tuple[CountingLine, ...]:
        return tuple(line.build() for line in self.lines)

    def congestion_thresholds(self) -> dict[str, CongestionThresholds]:
        """Each zone's thresholds: its own, else the camera's."""
        default = self.congestion.build()
        return {
            z.name.strip(): z.congestion.build() if z.congestion is not None else default
            for z in self.zones
        }

    def dwell(self) -> DwellConfig:
        return DwellConfig(self.exit_grace_seconds, self.min_visit_seconds)
