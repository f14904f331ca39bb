"""The notice profile's field names and gate problems in the operator's language."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktopapp.core.modes import Mode


class NoticeTexts(QObject):
    def mode_label(self, mode: Mode) -> str:
        return {
            Mode.ATTRIBUTES: self.tr("Attributes (age band and gender, no identity kept)"),
            Mode.ACTIVITY: self.tr("Activity (movement in the store)"),
            Mode.REPEAT: self.tr("Repeat analysis (recognises returning visitors)"),
            Mode.PASSERBY: self.tr("Passer-by counting (outside, by shape only)"),
            Mode.INCIDENTAL: self.tr("Incidental capture (people made unrecognisable)"),
            Mode.CROWD: self.tr("Crowd level (icons and counts only)"),
        }[mode]

    def suggested_purpose(self, mode: Mode) -> str:
        """A starting text the operator can edit; repeat mode must admit face matching (G-01)."""
        if mode is Mode.REPEAT:
            return self.tr(
                "To improve our store and service: face feature data is extracted from camera "
                "images and matched to count repeat visits, together with estimated age band and "
                "gender. No images are kept."
            )
        if mode is Mode.PASSERBY or mode is Mode.CROWD:
            return self.tr(
                "To count how many people pass by or are in the store, from body shapes only. "
                "No faces are analysed and no images are kept."
            )
        return self.tr(
            "To improve our store layout and service from estimated age band, gender and "
            "movement in the store. No images and no data that identifies a person are kept."
        )

    def suggested_items(self, mode: Mode) -> list[str]:
        if mode is Mode.REPEAT:
            return [
                self.tr("face feature data"),
                self.tr("estimated age band and gender"),
                self.tr("date, time and length of visits"),
            ]
        if mode is Mode.PASSERBY or mode is Mode.CROWD:
            return [self.tr("number of people"), self.tr("date and time")]
        return [
            self.tr("estimated age band and gender"),
            self.tr("movement in the store"),
            self.tr("date, time and length of visits"),
        ]

    def label(self, key: str) -> str:
        return {
            "operator": self.tr("operator (company) name"),
            "store": self.tr("store name"),
            "purpose": self.tr("purpose of use"),
            "items": self.tr("items acquired"),
            "contact": self.tr("contact point"),
            "policy_url": self.tr("privacy policy URL"),
            "feedback_url": self.tr("feedback URL"),
            "retention_days": self.tr("retention period"),
        }.get(key, key)

    def problem(self, problem: str, key: str) -> str:
        text = {
            "missing": self.tr("%1 is not filled in"),
            "not_url": self.tr("%1 must be a web address (https://…)"),
            "no_face_matching": self.tr("%1 must say that face feature data is matched"),
        }.get(problem, "%1")
        return text.replace("%1", self.label(key))

    def gate_message(self, items: list[tuple[str, str]]) -> str:
        reasons = self.tr("; ").join(self.problem(p, k) for p, k in items)
        return self.tr("Analysis is blocked until the notice profile is complete: %1").replace(
            "%1", reasons
        )
