"""redact: the key never reaches a log line or a message."""

from __future__ import annotations

import logging

import pytest

from qwen_lsp import redact


def test_scrub_masks_registered_secrets_and_key_shapes() -> None:
    redact.add_secret("sk-registered-123456")
    assert "sk-registered" not in redact.scrub("failed with key sk-registered-123456!")
    assert redact.scrub('{"apiKey": "sk-unknown-999"}') == '{"apiKey": "***"}'
    assert redact.scrub("Authorization: Bearer abc.def-123") == "Authorization: Bearer ***"
    assert redact.scrub("nothing secret here") == "nothing secret here"


def test_filter_rewrites_records(caplog: pytest.LogCaptureFixture) -> None:
    redact.add_secret("sk-in-a-log-record-42")
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(redact.RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("initialize %s", {"initializationOptions": {"apiKey": "sk-in-a-log-record-42"}})
    assert "sk-in-a-log-record-42" not in caplog.text and "***" in caplog.text
