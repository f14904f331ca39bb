"""Faults the core reports with a code (cameras, video and picture files, the database, the
settings file, models) in the operator's language. The core's English sentence stays in the log
and on the command line."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject

from desktopapp.core.config import SettingsError
from desktopapp.core.images import ImageReadError
from desktopapp.core.logs import log_file
from desktopapp.core.reports.signage import SignTextsMissingError
from desktopapp.core.services.accounts import PasswordRuleError, UserError
from desktopapp.core.services.deletion import ScrubIncompleteError
from desktopapp.core.services.errors import (
    DataKeyError,
    KeyProblem,
    StoreError,
    StoreProblem,
    store_error,
)
from desktopapp.core.sources import SourceAddressError, SourceError, SourceProblem
from desktopapp.core.vision.registry import ModelError, ModelProblem
from desktopapp.ui.account_texts import AccountTexts


class ErrorTexts(QObject):
    def error(self, error: BaseException) -> str:
        """Any error a background job may hand the UI: in words when its kind is known, else
        as it was raised."""
        if isinstance(error, ScrubIncompleteError):
            return self.scrub_incomplete()
        if isinstance(error, SourceError | SourceAddressError):
            return self.source_problem(error.problem, error.params)
        if isinstance(error, StoreError):
            return self.store_problem(error)
        if isinstance(error, DataKeyError):
            return self.key_problem(error.problem)
        if isinstance(error, SettingsError):
            return self.settings_problem(error)
        if isinstance(error, ImageReadError):
            return self.image_problem(error)
        if isinstance(error, UserError):
            return AccountTexts(self).user_error(error)
        if isinstance(error, PasswordRuleError):
            return "\n".join(AccountTexts(self).problem(code) for code in error.problems)
        if isinstance(error, SignTextsMissingError):
            if error.language == "en":
                return self.tr(
                    "The notice has no English text yet. Fill in the purpose, the items, the "
                    "contact and, if they are written in Japanese, the operator and store names "
                    "in English under Settings → Notice profile."
                )
            return self.tr(
                "The notice has no Japanese text yet. Fill in the purpose, the items and the "
                "contact in Japanese under Settings → Notice profile."
            )
        if isinstance(error, ModelError):
            return self.model_problem(error.problem, str(error.path or error.model_id))
        # Writing a settings file, an export, a sign: the disk is full or read-only.
        cause = error if isinstance(error, OSError) else error.__cause__
        if isinstance(cause, OSError):
            problem = store_error(cause, Path(os.fsdecode(cause.filename or "")))
            if problem is not None and problem.problem is not StoreProblem.IO:
                return self.store_problem(problem)
        return str(error)

    def scrub_incomplete(self) -> str:
        """A deletion committed and audited, whose file clean-up another program blocked."""
        return self.tr(
            "The data was deleted and the deletion is recorded in the audit log, but another "
            "Raiten window or program using the data folder kept the file from being cleaned "
            "up, so deleted data may still be in it. Close other Raiten windows and programs "
            "that use the data folder: Raiten finishes the clean-up at its next hourly run."
        )

    def source_problem(self, problem: SourceProblem, params: dict[str, str]) -> str:
        def p(key: str) -> str:
            return params.get(key, "")

        how = self.tr(
            "Enter a USB camera number (0, 1, …), an rtsp:// or http:// address, a video file, "
            "or demo."
        )
        texts = {
            SourceProblem.NOTHING_GIVEN: self.tr("No camera given.") + " " + how,
            SourceProblem.NO_HOST: self.tr("%1 names no camera.").replace("%1", p("address"))
            + " "
            + how,
            SourceProblem.BAD_SCHEME: self.tr("Raiten cannot read %1:// addresses.").replace(
                "%1", p("scheme")
            )
            + " "
            + how,
            SourceProblem.USB_NUMBER: self.tr("USB camera numbers run from 0 to %1, not %2.")
            .replace("%1", p("max"))
            .replace("%2", p("index")),
            SourceProblem.FOLDER: self.tr("%1 is a folder, not a video file.").replace(
                "%1", p("file")
            ),
            SourceProblem.NOT_FOUND: self.tr("There is no camera or file called %1.").replace(
                "%1", p("file")
            )
            + " "
            + how,
            SourceProblem.FILE_UNREADABLE: self.tr(
                "The video file %1 cannot be opened: it is missing or this account may not read it."
            ).replace("%1", p("file")),
            SourceProblem.FILE_EMPTY: self.tr("The video file %1 is empty (0 bytes).").replace(
                "%1", p("file")
            ),
            SourceProblem.FILE_NOT_VIDEO: self.tr(
                "%1 is not a video file Raiten can read."
            ).replace("%1", p("file")),
            SourceProblem.FILE_UNDECODABLE: self.tr(
                "%1 contains no picture Raiten can decode: the file is damaged."
            ).replace("%1", p("file")),
            SourceProblem.FILE_INCOMPLETE: self.tr(
                "%1 is damaged or incomplete: it ends after %2 of %3 frames."
            )
            .replace("%1", p("file"))
            .replace("%2", p("frames"))
            .replace("%3", p("expected")),
            SourceProblem.DEMO_BROKEN: self.tr(
                "The demo camera's picture is missing or damaged: reinstall Raiten."
            ),
            SourceProblem.UNEXPECTED: self.tr(
                "Raiten met an error it did not expect while reading this camera. Try Test "
                "connection again; if it stays, send the log file %1 to your Raiten supplier."
            ).replace("%1", str(log_file() or "raiten.log")),
            SourceProblem.NO_USB: self.tr(
                "No camera at USB number %1: check the cable. Retrying in %2 s."
            )
            .replace("%1", p("index"))
            .replace("%2", p("retry")),
            SourceProblem.CANNOT_CONNECT: self.tr(
                "Cannot connect to the camera: check its address, the network, and its user "
                "name and password. Retrying in %1 s."
            ).replace("%1", p("retry")),
            SourceProblem.LOST: self.tr("The picture was lost. Reconnecting in %1 s.").replace(
                "%1", p("retry")
            ),
            SourceProblem.NO_PICTURES: self.tr(
                "The camera answers but sends nothing Raiten can read as a picture. Retrying "
                "in %1 s."
            ).replace("%1", p("retry")),
            SourceProblem.RESIZED: self.tr(
                "The picture size changed from %1 to %2: check the privacy and analysis zones."
            )
            .replace("%1", p("before"))
            .replace("%2", p("after")),
        }
        connection = self._connection_problem(problem, params)
        if connection:
            retry = params.get("retry")
            if retry:
                connection += " " + self.tr("Retrying in %1 s.").replace("%1", retry)
            return connection
        if problem is SourceProblem.FROZEN:
            # Live and frozen has no retry yet; after it, the camera is being reconnected.
            if "retry" in params:
                return self.tr("The picture froze. Reconnecting in %1 s.").replace("%1", p("retry"))
            return self.tr(
                "The picture has not changed for %1 s: the camera may be frozen."
            ).replace("%1", p("seconds"))
        return texts[problem]

    def _connection_problem(self, problem: SourceProblem, params: dict[str, str]) -> str:
        """Why a network camera gives no picture, and what to try; "" for other problems."""
        host, port = params.get("host", ""), params.get("port", "")
        if problem is SourceProblem.HOST_NOT_FOUND:
            return self.tr(
                "No device called %1 was found on the network. Check the address for typing "
                "errors; the camera's IP address (such as 192.168.1.20) is the safest."
            ).replace("%1", host)
        if problem is SourceProblem.REFUSED:
            return (
                self.tr(
                    "The device at %1 refuses connections on port %2: the camera may be "
                    "starting up, its streaming may be switched off, or the port is wrong "
                    "(RTSP usually uses 554, HTTP 80). Check the port in the camera's settings."
                )
                .replace("%1", host)
                .replace("%2", port)
            )
        if problem is SourceProblem.TIMED_OUT:
            return (
                self.tr(
                    "Nothing answers at %1 (port %2). Check that the camera is switched on, "
                    "connected to the same network as this PC, and that the address is right."
                )
                .replace("%1", host)
                .replace("%2", port)
            )
        if problem is SourceProblem.WRONG_PASSWORD:
            if params.get("with_password") == "yes":
                return self.tr(
                    "The camera refused the user name or password. Enter them exactly as set "
                    "in the camera's own settings: rtsp://user:password@address/…"
                )
            return self.tr(
                "The camera asks for a user name and password. Add them to the address: "
                "rtsp://user:password@address/…"
            )
        if problem is SourceProblem.STREAM_NOT_FOUND:
            return (
                self.tr(
                    "The camera at %1 has no video at %2. The stream's path is in the camera's "
                    "manual (for example /stream1 or /live/ch0)."
                )
                .replace("%1", host)
                .replace("%2", params.get("path", ""))
            )
        if problem is SourceProblem.NOT_VIDEO:
            return (
                self.tr(
                    "%1 answers, but not with video (%2): this may be the camera's web page or "
                    "another device. Use the stream address from the camera's manual."
                )
                .replace("%1", host)
                .replace("%2", params.get("answer", ""))
            )
        return ""

    def store_problem(self, error: StoreError) -> str:
        texts = {
            StoreProblem.CORRUPT: self.tr("The database %1 is damaged."),
            StoreProblem.LOCKED: self.tr(
                "The database %1 is in use by another program (another Raiten, a backup or "
                "virus scanner?). Close it; Raiten keeps trying."
            ),
            StoreProblem.READ_ONLY: self.tr(
                "%1 cannot be written: the file or its folder is read-only. Check the folder's "
                "permissions and the disk."
            ),
            StoreProblem.DISK_FULL: self.tr("The disk holding %1 is full. Free some space."),
            StoreProblem.IO: self.tr("The disk holding %1 reported an error. Check the disk."),
            StoreProblem.TOO_NEW: self.tr(
                "The database %1 was written by a newer Raiten. Update Raiten."
            ),
        }
        return texts[error.problem].replace("%1", str(error.path))

    def key_problem(self, problem: KeyProblem) -> str:
        return {
            KeyProblem.UNREACHABLE: self.tr(
                "The key that unlocks this data is kept in the computer's password store "
                "(keyring), which cannot be opened now. Nothing was changed. Sign in at this "
                "computer's desktop (or unlock the keyring) and start Raiten again."
            ),
            KeyProblem.MISMATCH: self.tr(
                "The key found does not unlock this data: it was encrypted with another key. "
                "Nothing was changed. Put back the key file or keyring entry this data folder "
                "was made with, then start Raiten again."
            ),
            KeyProblem.DAMAGED: self.tr(
                "The key file that unlocks this data is damaged. Nothing was changed. Put back "
                "a good copy of the key file, then start Raiten again."
            ),
        }[problem]

    def settings_problem(self, error: SettingsError) -> str:
        texts = {
            "unreadable": self.tr(
                "The settings file %1 is damaged and cannot be read; the defaults are used. "
                "Saving the settings keeps the damaged file beside the new one."
            ),
            "not_settings": self.tr(
                "The settings file %1 does not hold settings; the defaults are used."
            ),
            "newer": self.tr(
                "The settings file %1 was written by a newer Raiten (version %2); the defaults "
                "are used. Update Raiten to use it."
            ),
            "invalid": self.tr(
                "The settings file %1 has an invalid value at %2; the defaults are used."
            ),
        }
        text = texts.get(error.problem)
        if text is None:
            return str(error)
        return text.replace("%1", str(error.path)).replace("%2", error.detail)

    def image_problem(self, error: ImageReadError) -> str:
        texts = {
            "unreadable": self.tr(
                "The picture %1 cannot be opened: it is missing or this account may not read it."
            ),
            "empty": self.tr("The picture %1 is empty (0 bytes)."),
            "too_big": self.tr("The picture %1 is too large (%2 MB)."),
            "not_image": self.tr("%1 is not a picture Raiten can read."),
            "too_many_pixels": self.tr(
                "The picture %1 has too many pixels to analyse; use a smaller picture."
            ),
        }
        text = texts.get(error.problem)
        if text is None:
            return str(error)
        return text.replace("%1", str(error.path)).replace("%2", error.reason)

    def model_problem(self, problem: ModelProblem, path: str) -> str:
        return {
            ModelProblem.MISSING: self.tr("model file %1 is missing. Reinstall Raiten."),
            ModelProblem.MISMATCH: self.tr(
                "model file %1 is damaged or was replaced (SHA-256 mismatch). Reinstall Raiten."
            ),
            ModelProblem.UNREADABLE: self.tr("model file %1 cannot be read."),
            ModelProblem.CORRUPT: self.tr("model file %1 is not a usable model."),
            ModelProblem.UNKNOWN: self.tr("model %1 is not known."),
            ModelProblem.MANIFEST: self.tr("model list %1 is missing or damaged."),
        }[problem].replace("%1", path)
