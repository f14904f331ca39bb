"""Two and three simulated stores of one operator against one real PostgreSQL server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from desktopapp.cli import main
from tests.chain.stores import new_chain, person, seen, stores
from tests.conftest import FACES
from tests.test_notice import COMPLETE


def test_a_customer_of_one_store_is_recognised_at_another(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = person(1)
        first = shibuya.visit(seen(alice, 10))
        assert first.new_visitor
        pushed = shibuya.sync()
        assert pushed.pushed > 0 and pushed.pending == 0
        pulled = ueno.sync()
        assert pulled.pulled >= 1
        assert first.visitor_id in ueno.visitors()
        again = ueno.visit(seen(alice, 11))
        assert again.visitor_id == first.visitor_id
        assert again.is_repeat and not again.new_visitor
        # ... and a stranger stays a stranger.
        assert ueno.visit(person(2)).new_visitor


def _analyse(capsys: pytest.CaptureFixture[str], data: Path, folder: Path) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["analyse", str(folder), "--per-visit", "--json", "--data-dir", str(data)]) == 0
    visits: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["visits"]
    return visits


def test_two_stores_recognise_each_others_returning_customers_from_real_faces(
    pg_admin_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's 'done when': real pictures through the real pipeline at two store PCs."""
    enrolment = tmp_path / "chain.enrol"
    pictures = {"shibuya": ["obama.jpg", "biden.jpg"], "ueno": ["obama2.jpg", "messi5.jpg"]}
    data = {}
    for store, names in pictures.items():
        folder = tmp_path / f"{store}-pictures"
        folder.mkdir()
        for name in names:
            shutil.copyfile(FACES / name, folder / name)  # test input, not app output
        data[store] = tmp_path / store
        notice = tmp_path / f"{store}.toml"
        notice.write_text(COMPLETE.replace("渋谷店", store), encoding="utf-8")
        assert main(["notice", "set", str(notice), "--data-dir", str(data[store])]) == 0
    assert (
        main(
            [
                "chain",
                "init",
                "--server",
                pg_admin_url,
                "--out",
                str(enrolment),
                "--data-dir",
                str(data["shibuya"]),
            ]
        )
        == 0
    )
    for store in pictures:
        assert (
            main(
                ["chain", "join", str(enrolment), "--store", store, "--data-dir", str(data[store])]
            )
            == 0
        )
    at_shibuya = {
        v["source"].rsplit("/", 1)[-1]: v
        for v in _analyse(capsys, data["shibuya"], tmp_path / "shibuya-pictures")
    }
    assert main(["chain", "sync", "--data-dir", str(data["shibuya"])]) == 0
    assert main(["chain", "sync", "--data-dir", str(data["ueno"])]) == 0
    at_ueno = {
        v["source"].rsplit("/", 1)[-1]: v
        for v in _analyse(capsys, data["ueno"], tmp_path / "ueno-pictures")
    }
    obama = at_ueno["obama2.jpg"]
    assert obama["repeat"] and obama["visitor"] == at_shibuya["obama.jpg"]["visitor"]
    assert not at_ueno["messi5.jpg"]["repeat"]
    assert at_ueno["messi5.jpg"]["visitor"] != at_shibuya["biden.jpg"]["visitor"]
