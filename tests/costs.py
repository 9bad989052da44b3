"""A meter for what one request costs: SQL statements, database commits, Redis round trips.

``counting(app)`` listens on the app's engine (SQLAlchemy's ``before_cursor_execute`` and
``commit`` events) and wraps the Redis client of the app's store (``execute_command``, and
``execute`` of the pipelines it hands out) for the length of a ``with`` block, then removes every
listener and wrapper, so nothing outlives the block. A pipeline is one round trip, and so is a
Lua script (``EVALSHA`` goes through ``execute_command`` once).

Not counted: the connection pool's pre-ping on checkout and its rollback on return, and Redis
health checks; they are round trips too, but below the statements and commands the code issues.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import event

from authserver.extensions import db, services


@dataclass
class Costs:
    """What was spent while counting: each statement's SQL, commits, each Redis round trip,
    and all of them in the order they happened."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0
    redis: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def statement(self, sql: str) -> None:
        self.statements.append(sql)
        self.log.append(f"SQL    {sql}")

    def commit(self) -> None:
        self.commits += 1
        self.log.append("COMMIT")

    def round_trip(self, command: str) -> None:
        self.redis.append(command)
        self.log.append(f"Redis  {command}")

    def counts(self) -> tuple[int, int, int]:
        return len(self.statements), self.commits, len(self.redis)

    def listing(self) -> str:
        """Everything counted, in order, one a line: for an assertion message."""
        return "\n".join(f"  {line}" for line in self.log)


def _one_line(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()


def _redis_label(args: tuple[Any, ...]) -> str:
    """The command and its first key (EVALSHA: every key of the script)."""
    name = str(args[0]).upper()
    keys = args[3:3 + int(args[2])] if name in ("EVALSHA", "EVAL") else args[1:2]
    return " ".join([name, *(key.decode() if isinstance(key, bytes) else str(key)
                             for key in keys)])


def _wrap_redis(client: Any, record: Callable[[str], None]) -> Callable[[], None]:
    """Count the client's commands and pipelines; returns the undo."""
    execute_command, pipeline = client.execute_command, client.pipeline

    def counted_command(*args: Any, **options: Any) -> Any:
        record(_redis_label(args))
        return execute_command(*args, **options)

    def counted_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = pipeline(*args, **kwargs)
        execute = pipe.execute

        def counted_execute(*a: Any, **k: Any) -> Any:
            record("PIPELINE " + ",".join(str(c[0][0]) for c in pipe.command_stack))
            return execute(*a, **k)

        pipe.execute = counted_execute
        return pipe

    client.execute_command, client.pipeline = counted_command, counted_pipeline

    def undo() -> None:
        del client.execute_command, client.pipeline  # the instance attributes: back to the class

    return undo


@contextmanager
def counting(app: Flask) -> Iterator[Costs]:
    """Count what the app spends on its database and Redis inside the block."""
    with app.app_context():
        engine, redis_client = db.engine, services.store._redis
    costs = Costs()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        costs.statement(_one_line(statement))

    def on_commit(_conn: Any) -> None:
        costs.commit()

    listeners = [("before_cursor_execute", on_statement), ("commit", on_commit)]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    undo_redis = _wrap_redis(redis_client, costs.round_trip)
    try:
        yield costs
    finally:
        undo_redis()
        for name, listener in listeners:
            event.remove(engine, name, listener)
