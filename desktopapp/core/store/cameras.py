"""The configured cameras. Locations are encrypted: RTSP/HTTP URLs often carry a password."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlite_utils

from desktopapp.core.counting import CongestionThresholds, CountingLine, Zone
from desktopapp.core.floor import FloorCalibration
from desktopapp.core.geometry_config import CameraGeometryConfig
from desktopapp.core.privacy import MaskStyle, Polygon
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.db import immediate_transaction
from desktopapp.core.store.zones import CameraZones, remeasure_paths

log = logging.getLogger(__name__)

_CONTEXT = b"camera.location"


@dataclass(frozen=True, slots=True)
class Camera:
    name: str
    source: SourceSpec
    mask_style: MaskStyle = MaskStyle.PIXELATE
    polygons: tuple[Polygon, ...] = ()
    analysis_fps: float = 10.0
    enabled: bool = True
    # What the operator drew (core.counting, core.floor): analysis zones (shelf, checkout,
    # entrance), counting lines, the floor calibration and congestion thresholds.
    zones: tuple[Zone, ...] = ()
    lines: tuple[CountingLine, ...] = ()
    calibration: FloorCalibration | None = None
    congestion: CongestionThresholds = field(default_factory=CongestionThresholds)
    # Watches the store's entrance: its tracks start visits, which the other cameras' tracks
    # join (core.visit_join).
    entrance: bool = False
    camera_id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a camera needs a name")
        if len(self.name) > 80:
            raise ValueError("a camera name can be at most 80 characters")
        if not 0.5 <= self.analysis_fps <= 30:
            raise ValueError("the analysis rate must be between 0.5 and 30 frames per second")
        self.geometry()  # refuses duplicate names and floor shapes without a calibration

    def geometry(self) -> CameraGeometryConfig:
        return CameraGeometryConfig.of(self.zones, self.lines, self.calibration, self.congestion)


class CameraStore:
    def __init__(self, db: sqlite_utils.Database, cipher: Cipher):
        self._db = db
        self._cipher = cipher

    def _row(self, camera: Camera) -> dict[str, object]:
        location = self._cipher.encrypt(camera.source.location.encode("utf-8"), _CONTEXT)
        return {
            "name": camera.name.strip(),
            "source_kind": camera.source.kind.value,
            "location_enc": location,
            "loop_file": int(camera.source.loop),
            "mask_style": camera.mask_style.value,
            "polygons_json": json.dumps([list(map(list, p)) for p in camera.polygons]),
            "analysis_fps": camera.analysis_fps,
            "enabled": int(camera.enabled),
            "geometry_json": camera.geometry().model_dump_json(),
            "entrance": int(camera.entrance),
        }

    def add(self, camera: Camera) -> Camera:
        row = self._row(camera) | {"created_at": datetime.now(UTC).isoformat()}
        with self._db.conn:
            cursor = self._db.conn.execute(
                f"INSERT INTO camera ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()),
            )
        log.info("camera %d added (%s)", cursor.lastrowid, camera.source.kind.value)
        return self.get(int(cursor.lastrowid or 0))

    def update(self, camera: Camera) -> Camera:
        if camera.camera_id is None:
            raise ValueError("only a stored camera can be updated")
        row = self._row(camera)
        with immediate_transaction(self._db.conn):
            before = self._db.conn.execute(
                "SELECT geometry_json FROM camera WHERE id = ?", (camera.camera_id,)
            ).fetchone()
            self._db.conn.execute(
                f"UPDATE camera SET {', '.join(f'{k} = ?' for k in row)} WHERE id = ?",
                (*row.values(), camera.camera_id),
            )
            # Held paths are placed and measured by the zones and calibration alone: a new
            # counting line or crowd threshold reads none of them again.
            if before is not None and CameraZones.of(
                CameraGeometryConfig.model_validate_json(before[0])
            ) != CameraZones.of(camera.geometry()):
                remeasure_paths(self._db.conn, camera.camera_id)
        return self.get(camera.camera_id)

    def remove(self, camera_id: int) -> None:
        with self._db.conn:
            self._db.conn.execute("DELETE FROM camera WHERE id = ?", (camera_id,))
        log.info("camera %d removed", camera_id)

    def get(self, camera_id: int) -> Camera:
        for camera in self.all():
            if camera.camera_id == camera_id:
                return camera
        raise LookupError(f"no camera {camera_id}")

    def all(self) -> list[Camera]:
        rows = self._db.execute(
            "SELECT id, name, source_kind, location_enc, loop_file, mask_style, polygons_json, "
            "analysis_fps, enabled, geometry_json, entrance FROM camera ORDER BY id"
        ).fetchall()
        cameras = []
        for row in rows:
            geometry = CameraGeometryConfig.model_validate_json(row[9])
            location = self._cipher.decrypt(bytes(row[3]), _CONTEXT).decode("utf-8")
            source = SourceSpec(SourceKind(row[2]), location, loop=bool(row[4]))
            cameras.append(
                Camera(
                    name=row[1],
                    source=source,
                    mask_style=MaskStyle(row[5]),
                    polygons=tuple(tuple(map(tuple, p)) for p in json.loads(row[6])),
                    analysis_fps=float(row[7]),
                    enabled=bool(row[8]),
                    zones=geometry.zone_list(),
                    lines=geometry.counting_lines(),
                    calibration=geometry.floor_calibration(),
                    congestion=geometry.congestion.build(),
                    entrance=bool(row[10]),
                    camera_id=int(row[0]),
                )
            )
        return cameras
