"""The notice profile's field names and gate problems in the operator's language."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktopapp.core.model_change import ExclusionModelError
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

    def exclusion_model_message(self, error: ExclusionModelError) -> str:
        return (
            self.tr(
                "Analysis is blocked: %1 opt-out(s) and %2 staff member(s) were registered with "
                "the face features model %3, but %4 is in use, so they would not be "
                "recognised and would be recorded. Switch the face features model back to %3 "
                "in Settings, or remove them in Staff / Requests and register them again."
            )
            .replace("%1", str(error.opt_outs))
            .replace("%2", str(error.staff))
            .replace("%3", ", ".join(error.models))
            .replace("%4", error.in_use)
        )
