"""G-05 and G-03 in the schema itself: no column can hold who someone is, or a picture."""

from __future__ import annotations

import re
from pathlib import Path

from desktopapp.core.store.db import SCHEMA_VERSION, open_database

FORBIDDEN = re.compile(
    r"name$|^name|member|loyalty|card|phone|mail|address|image|photo|picture|thumb|crop|frame",
    re.IGNORECASE,
)
# Names of things that are not people: the operator (a company), its stores, cameras.
ALLOWED = {
    ("operator", "name"),
    ("store", "name"),
    ("camera", "name"),
    # Staff login names (G-10): an account needs one, and no customer ever gets an account.
    ("app_user", "name"),
    ("app_user", "name_key"),
}


def test_no_column_for_identity_or_pictures(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    offending = []
    for table in db.table_names():
        for column in db[table].columns:
            if FORBIDDEN.search(column.name) and (table, column.name) not in ALLOWED:
                offending.append(f"{table}.{column.name}")
        if FORBIDDEN.search(table):
            offending.append(table)
    assert offending == []


def test_blobs_only_where_ciphertext_is_expected(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    blobs = {
        f"{table}.{column.name}"
        for table in db.table_names()
        for column in db[table].columns
        if column.type.upper() == "BLOB"
    }
    assert blobs == {"template.feature_enc", "camera.location_enc"}


def test_the_pattern_does_catch_what_it_must() -> None:
    for bad in ("member_id", "customer_name", "phone_number", "email", "face_image", "thumbnail"):
        assert FORBIDDEN.search(bad), bad
