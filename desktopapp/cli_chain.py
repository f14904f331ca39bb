"""``raiten chain …``: the command line of chain mode (issue 19, DESIGN "Command line").

Kept apart from ``cli.py`` so that the chain's driver (psycopg, the ``chain`` extra) is
imported only when a chain command runs.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktopapp.core.chain.errors import ChainError, ChainProblem

log = logging.getLogger(__name__)

Emit = Callable[[argparse.Namespace, dict[str, Any], str], None]


def _require_driver() -> None:
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError as exc:
        raise ChainError(
            ChainProblem.SERVER,
            "chain mode needs the PostgreSQL driver: install Raiten with the 'chain' extra",
        ) from exc


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from desktopapp.core.store.crypto import Cipher, load_key  # noqa: PLC0415
    from desktopapp.core.store.db import open_database  # noqa: PLC0415

    return open_database(args.data_dir), Cipher(load_key(args.data_dir))


def register(
    sub: Any,
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
    emit: Emit,
    actor: Callable[[], str],
) -> None:
    """Add ``chain init|join|sync|status|leave|scrub`` to the ``raiten`` parser."""

    def cmd_init(args: argparse.Namespace) -> int:
        _require_driver()
        from desktopapp.core.chain.membership import (  # noqa: PLC0415
            init_operator,
            local_operator_name,
        )

        name = args.operator
        if name is None:
            db, _ = _open(args)
            name = local_operator_name(db)
        if not name:
            raise ChainError(
                ChainProblem.BAD_ENROLMENT,
                "name the operator: --operator NAME, or set the notice profile first",
            )
        enrolment = init_operator(args.server, args.out, name)
        emit(
            args,
            {"operator": name, "operator_id": enrolment.operator_id, "enrolment": str(args.out)},
            f"created the operator {name!r}; carry {args.out} to each store PC and run "
            "`raiten chain join` there, then keep the file locked away",
        )
        return 0

    def cmd_join(args: argparse.Namespace) -> int:
        _require_driver()
        from desktopapp.core.chain.membership import join  # noqa: PLC0415
        from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415

        db, cipher = _open(args)
        joined = join(db, cipher, args.file, args.store)
        AuditLog(db).append(
            actor(), "chain.join", {"operator": joined.operator, "store": joined.store}
        )
        emit(
            args,
            {"operator": joined.operator, "store": joined.store, "queued": joined.queued},
            f"this PC is now the store {joined.store!r} of {joined.operator!r}; "
            f"{joined.queued} changes wait for the first `raiten chain sync`",
        )
        return 0

    def cmd_sync(args: argparse.Namespace) -> int:
        _require_driver()
        from desktopapp.core.chain.sync import ChainSync, live_threshold  # noqa: PLC0415
        from desktopapp.core.config import load_settings  # noqa: PLC0415

        db, cipher = _open(args)
        threshold = live_threshold(load_settings(args.data_dir).vision)
        result = ChainSync(db, cipher, threshold=threshold).sync()
        payload = {
            "pushed": result.pushed,
            "pulled": result.pulled,
            "pending": result.pending,
            "merged": result.merged,
        }
        emit(args, payload, "\n".join(f"{k}: {v}" for k, v in payload.items()))
        return 0

    def cmd_status(args: argparse.Namespace) -> int:
        from desktopapp.core.chain.membership import status  # noqa: PLC0415

        db, cipher = _open(args)
        payload = status(db, cipher)
        if not payload["joined"]:
            text = "this PC is not a store of a chain"
        else:
            text = "\n".join(
                [
                    f"server: {payload['server']}",
                    f"operator: {payload['operator']}",
                    f"store: {payload['store']}",
                    f"last sync: {payload['last_sync'] or 'never'}",
                    f"offline since: {payload['offline_since'] or '-'}",
                    f"changes waiting: {payload['outbox']}",
                ]
            )
        emit(args, payload, text)
        return 0

    def cmd_leave(args: argparse.Namespace) -> int:
        from desktopapp.core.chain.membership import leave  # noqa: PLC0415
        from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415

        db, cipher = _open(args)
        state = leave(db, cipher)
        AuditLog(db).append(
            actor(), "chain.leave", {"operator": state.operator_name, "store": state.store_name}
        )
        emit(
            args,
            {"left": True, "store": state.store_name},
            "this PC no longer syncs with the chain; its data stays here",
        )
        return 0

    def cmd_scrub(args: argparse.Namespace) -> int:
        _require_driver()
        from desktopapp.core.chain.server import scrub  # noqa: PLC0415

        result = scrub(args.server)
        emit(
            args,
            {"operators": result.operators, "wal_recycle": result.wal_recycle},
            "the chain server's tables were rewritten and its old WAL removed"
            + ("" if not result.wal_recycle else "; set wal_recycle = off on the server"),
        )
        return 0

    chain = sub.add_parser("chain", parents=[common], help="stores of one operator share a gallery")
    chain_sub = chain.add_subparsers(dest="chain_command", parser_class=parser_class, required=True)
    init = chain_sub.add_parser("init", parents=[common], help="create the operator on the server")
    init.add_argument("--server", required=True, metavar="URL", help="libpq connection string")
    init.add_argument("--out", type=Path, required=True, metavar="FILE", help="enrolment file")
    init.add_argument("--operator", default=None, help="default: the notice's operator")
    init.set_defaults(func=cmd_init)
    join = chain_sub.add_parser("join", parents=[common], help="enrol this PC as a store")
    join.add_argument("file", type=Path, metavar="FILE")
    join.add_argument("--store", required=True, metavar="NAME")
    join.set_defaults(func=cmd_join)
    sync = chain_sub.add_parser("sync", parents=[common], help="push and pull now")
    sync.set_defaults(func=cmd_sync)
    status_parser = chain_sub.add_parser("status", parents=[common], help="the chain's state")
    status_parser.set_defaults(func=cmd_status)
    leave_parser = chain_sub.add_parser("leave", parents=[common], help="stop syncing")
    leave_parser.set_defaults(func=cmd_leave)
    scrub_parser = chain_sub.add_parser(
        "scrub", parents=[common], help="erasure maintenance on the server (administrator)"
    )
    scrub_parser.add_argument("--server", required=True, metavar="URL")
    scrub_parser.set_defaults(func=cmd_scrub)
