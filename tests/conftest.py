"""Fixtures that run real outside programs: LibreOffice, an SMTP server, Dovecot IMAP.

The rule for a missing program (soffice, the distribution's python3-uno, dovecot):

* on a developer's machine (environment variable ``CI`` unset, empty, ``0`` or
  ``false``) the test that needs it is SKIPPED, so the rest of the suite still runs;
* under CI (``CI`` set, as ``.ci/run`` runs) the test FAILS with a message naming
  what is missing, because ``.ci/run`` installs these programs and a skip there would
  hide that the "real parts" were never exercised.

aiosmtpd is a Python dependency of the test extra, so ``smtp_server`` never skips.

Tests that start LibreOffice are marked ``slow`` (each round trip takes seconds);
any test using the ``libreoffice`` fixture gets the mark automatically, and
``pytest -m "not slow"`` leaves them out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from support.libreoffice import LibreOffice, find_soffice, have_uno
from support.mailservers import ImapServer, SmtpServer, find_dovecot, start_imap_server, start_smtp_server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a real LibreOffice (seconds per test); "
                                       "deselect with -m 'not slow'")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "libreoffice" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def in_ci() -> bool:
    """True when running under CI, where a missing outside program is a failure."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(missing: list[str], hint: str) -> None:
    """Skip (developer machine) or fail (CI) when a needed program is missing."""
    if not missing:
        return
    msg = f"missing {', '.join(missing)} ({hint})"
    if in_ci():
        pytest.fail(f"CI is set and {msg}; .ci/run should have installed it", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def libreoffice() -> LibreOffice:
    """LibreOffice helpers: ``.roundtrip(...)`` (see ``lo_roundtrip``) and ``.convert(...)``."""
    missing = [what for what, ok in (("soffice", find_soffice()), ("python3-uno", have_uno())) if not ok]
    require(missing, "apt-get install libreoffice-calc libreoffice-writer python3-uno")
    return LibreOffice()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1:free port; AUTH PLAIN/LOGIN offered (user/password on the object)
    but not required; every accepted message lands in ``.messages``."""
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    """A private Dovecot on 127.0.0.1:free port serving one Maildir user over plain IMAP;
    ``.deliver(raw, folder="INBOX", date=None)`` drops a message into the Maildir."""
    require([] if find_dovecot() else ["dovecot"], "apt-get install dovecot-imapd")
    require([] if os.geteuid() == 0 else ["root"], "the test Dovecot switches to its own users")
    server = start_imap_server()
    try:
        yield server
    finally:
        server.stop()
