"""The last guard: text about a failure never carries a key's value, whatever the key is called."""

from __future__ import annotations

import pytest

from filmc.secrets import redact


def test_values_of_key_named_variables_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOMEVENDOR_API_KEY", "sv-4f1e9a0c2b7d")
    monkeypatch.setenv("MY_TOKEN", "tok-12345678")
    monkeypatch.setenv("EDITOR", "vim-is-not-a-key")   # not named like a key: left alone
    text = "401 for https://api/x?key=sv-4f1e9a0c2b7d (Authorization: Bearer tok-12345678) via vim-is-not-a-key"
    assert redact(text) == ("401 for https://api/x?key=[redacted] (Authorization: Bearer [redacted]) "
                            "via vim-is-not-a-key")
    assert redact("plugin said sk-extra-secret", also=["sk-extra-secret"]) == "plugin said [redacted]"


def test_an_internal_error_echoing_a_key_prints_no_key(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from filmc.cli.common import guarded

    monkeypatch.setenv("GEMINI_API_KEY", "AIza-guard-0c9d8e7f")

    @guarded
    def command() -> None:
        raise RuntimeError("request failed with headers {'x-goog-api-key': 'AIza-guard-0c9d8e7f'}")

    with pytest.raises(SystemExit):
        command()
    err = capsys.readouterr().err
    assert "internal error" in err and "AIza-guard-0c9d8e7f" not in err and "[redacted]" in err
