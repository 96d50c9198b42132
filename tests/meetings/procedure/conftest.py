"""The procedure's tests share the real SMTP server of the delivery tests."""

from tests.meetings.test_delivery import smtp_server

__all__ = ["smtp_server"]
