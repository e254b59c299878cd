"""A person's mistake and a program fault are told apart: only a ServiceError is shown as the user's to correct."""

import logging

from desktop.services.errors import ServiceError
from desktop.services.settings import SettingsError
from desktop.views.errors import error_text


def test_a_service_refusal_is_shown_as_it_is():
    assert error_text(SettingsError("监测线必须大于 0")) == "监测线必须大于 0"
    assert issubclass(SettingsError, ServiceError)


def test_a_bugs_value_error_is_a_program_fault_and_is_logged(caplog):
    with caplog.at_level(logging.ERROR):
        text = error_text(ValueError("invalid literal for int() with base 10: 'x'"))
    assert text.startswith("程序内部错误（ValueError）")
    assert "unexpected error" in caplog.text
