"""The POS importer's problems (core.pos) in the operator's language."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktopapp.core.pos import PosImportError, RowProblem


class PosTexts(QObject):
    def reason(self, reason: str) -> str:
        return {
            "member_id": self.tr("member or customer number"),
            "card": self.tr("card number"),
            "name": self.tr("person's name"),
            "phone": self.tr("phone number"),
            "email": self.tr("e-mail address"),
            "address": self.tr("address"),
            "birth": self.tr("birthday"),
            "unmapped": self.tr("not needed"),
        }.get(reason, reason)

    def row_problem(self, problem: RowProblem) -> str:
        return {
            "field_count": self.tr("the row has %1 fields where the header has %2")
            .replace("%1", str(problem.found))
            .replace("%2", str(problem.expected)),
            "time_empty": self.tr("the time of sale is empty"),
            "time_unreadable": self.tr("the time of sale cannot be read"),
            "date_empty": self.tr("the date is empty"),
            "date_unreadable": self.tr("the date cannot be read"),
            "amount_empty": self.tr("the amount is empty"),
            "amount_not_number": self.tr("the amount is not a number"),
        }[problem.code]

    def error(self, error: Exception) -> str:
        """A file the importer refused, in plain words; anything else as it was raised."""
        if not isinstance(error, PosImportError):
            return str(error)
        p = error.params
        texts = {
            "unreadable": self.tr("The file %1 cannot be read (%2).")
            .replace("%1", p.get("file", ""))
            .replace("%2", p.get("reason", "")),
            "bad_encoding": self.tr("The file starts like %1 text but is not valid %1.").replace(
                "%1", p.get("encoding", "")
            ),
            "not_text": self.tr(
                "The file is not text in UTF-8 or Shift_JIS (cp932), the encodings POS exports use."
            ),
            "binary": self.tr("The file holds binary data, not CSV text."),
            "csv_syntax": self.tr("Line %1 cannot be read as CSV.").replace(
                "%1", p.get("line", "")
            ),
            "empty": self.tr("The file is empty."),
            "one_column": self.tr(
                "Only one column was found: the file needs at least a time and an amount "
                "column, separated by commas, tabs or semicolons."
            ),
            "no_header": self.tr(
                "The first line holds data, not column names: the file needs a header row."
            ),
            "no_rows": self.tr("The file has column names but no sales."),
            "choose_columns": self.tr("Choose the columns with the time of sale and the amount."),
            "column_twice": self.tr("Each column can be used for one thing only."),
            "no_such_column": self.tr("The file has no column named \u201c%1\u201d.").replace(
                "%1", p.get("name", "")
            ),
            "personal_column": self.tr(
                "The column \u201c%1\u201d holds a %2 and is never imported."
            )
            .replace("%1", p.get("name", ""))
            .replace("%2", self.reason(p.get("reason", ""))),
            "no_time_column": self.tr(
                "No column with the time of sale was found (headers such as 日時, 取引日時, "
                "datetime, or 日付 and 時刻)."
            ),
            "no_amount_column": self.tr(
                "No column with the amount was found (headers such as 金額, 合計, amount or total)."
            ),
            "no_store": self.tr("A store name is needed to import purchases."),
            "no_operator": self.tr(
                "There is no store named \u201c%1\u201d and no operator yet: save the notice "
                "profile before importing purchases."
            ).replace("%1", p.get("store", "")),
            "already_imported": self.tr(
                "This file was imported already on %1; importing it again would count every "
                "sale twice."
            ).replace("%1", p.get("when", "")),
        }
        return texts.get(error.code, str(error))
