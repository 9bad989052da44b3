"""The unit of work's one rule for refusals.

A refused attempt must leave its trace: the audit event of a wrong password or code, the lock it
engaged (NIST SP 800-63B §5.2.2 asks that failures be counted and the account protected; the
audit trail is how an operator sees it). Domain modules add those events to the session and
raise a protocol error; :func:`refusals_kept` commits them on the way out. An outage (``503``,
the store or the database unreachable) is no refusal: like any other exception it leaves the
session to be rolled back, so a request cut short keeps nothing half-done (a TOTP step it
checked stays unspent).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from authserver.errors import ProtektError, TemporarilyUnavailable


@contextmanager
def refusals_kept(session: Session) -> Iterator[None]:
    """Commit what the block recorded when it ends in a protocol error other than an outage,
    then re-raise it."""
    try:
        yield
    except TemporarilyUnavailable:
        raise
    except ProtektError:
        session.commit()
        raise
