"""A tracking URI MLflow cannot read is a usage error (exit 2) with a suggestion, not a crash
(issue 9, item 7: `htp://x` gave exit 3)."""

from __future__ import annotations

import pytest

from tests.support.cli import run_cli


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["compare", ".", "--tracking-uri", "htp://x"], {}, "did you mean `http://x`?"),
        (
            ["register", ".", "--dry-run", "--tracking-uri", "htps://registry.example/api"],
            {},
            "did you mean `https://registry.example/api`?",
        ),
        (["doctor"], {"MLFLOW_TRACKING_URI": "localhost:5000"}, "MLFLOW_TRACKING_URI"),
        (["show", "m", "--tracking-uri", "http://host:port"], {}, "no valid host and port"),
    ],
)
def test_a_bad_tracking_uri_is_exit_2_with_a_suggestion(tmp_path, args, env, says):
    result = run_cli(*args, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


def test_a_token_in_a_bad_uri_is_not_printed(tmp_path):
    token = "hk-live-0a9b8c7d6e5f4321"
    result = run_cli("doctor", "--tracking-uri", f"htp://{token}@host", cwd=tmp_path)
    assert result.returncode == 2
    assert "htp://***@host" in result.stderr
    assert token[:8] not in result.stdout + result.stderr
