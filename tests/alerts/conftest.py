"""Alert test fixtures: the SMTP server on loopback."""

from tests.mailserver import mail_settings, smtp_port, smtp_server  # noqa: F401  fixtures
