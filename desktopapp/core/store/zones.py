"""Analysis zones of a camera (``core.counting.Zone``: shelf, checkout, entrance) as stored
with it, and the time each visit spends in them.

Path points are kept in normalised picture coordinates (0..1) and, through the camera's
calibration, where they stand on the floor plan (``floor_x``, ``floor_y``: the floor heat map).
A zone drawn on the picture is tested on the picture point, a zone drawn on the floor plan on
the floor point; a corrected calibration re-places and re-measures the held paths.

Zone dwell is worked out when a visit's path is recorded and kept in ``zone_dwell`` beside the
path; retention folds it into ``stat_zone_dwell`` with the visit, so the figure survives the
path (G-04). Drawing or changing zones (or the calibration) recomputes the rows of the paths
still held; what was folded keeps the zones in force at the time.

Dwell rule: a path point inside a zone counts the time to the next point of the same visit on
the same camera, unless that step is a gap between tracks (over ``MAX_STEP_SECONDS``); a visit
seen inside a zone at all "entered" it, even for one point.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from desktopapp.core.counting import Zone
from desktopapp.core.floor import FloorCalibration, Position
from desktopapp.core.geometry_config import CameraGeometryConfig

log = logging.getLogger(__name__)

# Paths are sampled about once a second while a person is seen; a step longer than this is a
# gap between two tracks of the visit (the person left the picture), not time in the zone.
MAX_STEP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class CameraZones:
    """A camera's zones with the calibration that places its picture on the floor plan."""

    zones: tuple[Zone, ...] = ()
    calibration: FloorCalibration | None = None

    @classmethod
    def of(cls, geometry: CameraGeometryConfig) -> CameraZones:
        return cls(geometry.zone_list(), geometry.floor_calibration())

    def on_plan(self, x: float, y: float) -> tuple[float | None, float | None]:
        """Where a path point (normalised picture coordinates) stands on the floor plan; None,
        None without a calibration or where it falls off the plan (beyond the horizon, or on
        a floor the plan does not draw)."""
        point = self.calibration.to_floor((x, y)) if self.calibration else None
        if point is None or not all(0.0 <= v <= 1.0 for v in point):
            return None, None
        return point

    def containing(self, x: float, y: float) -> list[Zone]:
        """The zones a path point (normalised picture coordinates) lies in. A zone drawn on
        the floor plan is tested where the point stands on the floor, so that it needs the
        calibration; without one it contains nothing."""
        position = Position((x, y), self.calibration.to_floor((x, y)) if self.calibration else None)
        found = []
        for zone in self.zones:
            point = position.in_space(zone.space)
            if point is not None and zone.contains(point):
                found.append(zone)
        return found


# A camera with no zones and no calibration: nothing to measure, nowhere on the plan.
NOWHERE = CameraZones()


def camera_zones(conn: sqlite3.Connection, camera_ids: Iterable[int]) -> dict[int, CameraZones]:
    """The zones drawn for each camera, on its picture or on the floor plan."""
    ids = sorted(set(camera_ids))
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT id, geometry_json FROM camera WHERE id IN ({', '.join('?' * len(ids))})", ids
    )
    found = {}
    for camera_id, text in rows:
        found[int(camera_id)] = CameraZones.of(CameraGeometryConfig.model_validate_json(text))
    return found


def dwell_of(
    points: Sequence[tuple[datetime, float, float]], shapes: CameraZones
) -> dict[str, float]:
    """Seconds in each zone the track entered, for one visit's points on one camera in time
    order."""
    seconds: dict[str, float] = {}
    for index, (at, x, y) in enumerate(points):
        step = (points[index + 1][0] - at).total_seconds() if index + 1 < len(points) else 0.0
        if step > MAX_STEP_SECONDS:
            step = 0.0
        for zone in shapes.containing(x, y):
            seconds[zone.name] = seconds.get(zone.name, 0.0) + step
    return seconds


def add_zone_dwell(
    conn: sqlite3.Connection,
    visit_id: int,
    points: Sequence[tuple[int, datetime, float, float]],
    zones: dict[int, CameraZones],
) -> None:
    """Add the zone dwell of one recorded track (camera id, time, x, y) to its visit, under
    ``zones`` (``camera_zones`` of its cameras). Runs in the caller's transaction."""
    by_camera: dict[int, list[tuple[datetime, float, float]]] = defaultdict(list)
    for camera_id, at, x, y in points:
        by_camera[camera_id].append((at, x, y))
    rows = [
        (visit_id, camera_id, name, seconds)
        for camera_id, track in by_camera.items()
        for name, seconds in dwell_of(sorted(track), zones.get(camera_id, NOWHERE)).items()
    ]
    conn.executemany(
        "INSERT INTO zone_dwell (visit_id, camera_id, zone, seconds) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (visit_id, camera_id, zone) DO UPDATE SET "
        "seconds = zone_dwell.seconds + excluded.seconds",
        rows,
    )


def remeasure_paths(conn: sqlite3.Connection, camera_id: int) -> int:
    """Place every held path point of ``camera_id`` on the floor plan and work out its zone
    dwell again, under the camera's calibration and zones as they are now; returns how many
    (visit, zone) rows there are. Runs in the caller's transaction."""
    zones = camera_zones(conn, [camera_id]).get(camera_id, NOWHERE)
    conn.execute("DELETE FROM zone_dwell WHERE camera_id = ?", (camera_id,))
    tracks: dict[int, list[tuple[datetime, float, float]]] = defaultdict(list)
    placed = []
    for point_id, visit_id, at, x, y in conn.execute(
        "SELECT id, visit_id, at, x, y FROM path_point WHERE camera_id = ? ORDER BY visit_id, at",
        (camera_id,),
    ):
        tracks[int(visit_id)].append((datetime.fromisoformat(at), float(x), float(y)))
        placed.append((*zones.on_plan(float(x), float(y)), point_id))
    conn.executemany("UPDATE path_point SET floor_x = ?, floor_y = ? WHERE id = ?", placed)
    rows = [
        (visit_id, camera_id, name, seconds)
        for visit_id, points in tracks.items()
        for name, seconds in dwell_of(points, zones).items()
    ]
    conn.executemany(
        "INSERT INTO zone_dwell (visit_id, camera_id, zone, seconds) VALUES (?, ?, ?, ?)", rows
    )
    log.info(
        "paths of camera %d re-measured: %d points, %d zone rows", camera_id, len(placed), len(rows)
    )
    return len(rows)
