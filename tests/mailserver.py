"""A real SMTP server on loopback (aiosmtpd) as fixtures, and settings that mail through it."""

import socket
import threading

import environ
import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """Keeps every message the server accepts."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        self.arrived.set()
        return "250 Message accepted"

    def wait(self, n: int, timeout: float = 5.0) -> bool:
        deadline = threading.Event()
        for _ in range(int(timeout * 20)):
            if len(self.messages) >= n:
                return True
            deadline.wait(0.05)
        return len(self.messages) >= n


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def mail_settings(settings, smtp_port):
    """Settings that mail alerts to ops@example.com through SMTP on ``smtp_port``."""
    for name, value in environ.Env.email_url_config(f"smtp://127.0.0.1:{smtp_port}").items():
        setattr(settings, name, value)
    settings.EMAIL_TIMEOUT = 2
    settings.DEFAULT_FROM_EMAIL = "valify@example.com"
    settings.ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    return settings


@pytest.fixture
def smtp_server(mail_settings, smtp_port):
    """A real SMTP server (aiosmtpd) listening on the port the settings name."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
