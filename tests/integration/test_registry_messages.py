"""Registry messages against real servers: the credential blamed is the one sent, a wrong
path is named as such."""

from __future__ import annotations

from tests.integration.conftest import Server
from tests.support.cli import run_cli

KEY = "hk-test-key-9f8e7d6c5b4a"


def test_doctor_with_a_key_and_basic_auth_reports_basic_auth_and_a_401_blames_it(
    tmp_path, auth_server: Server
):
    (tmp_path / ".git").mkdir()
    env = {"HOKUSAI_API_KEY": KEY, "MLFLOW_TRACKING_USERNAME": "admin",
           "MLFLOW_TRACKING_PASSWORD": "not-the-admin-password"}  # fmt: skip
    result = run_cli("doctor", "--tracking-uri", auth_server.uri, cwd=tmp_path, env=env)
    assert result.returncode == 1
    out = result.stdout
    assert "auth: MLFLOW_TRACKING_USERNAME=admin and MLFLOW_TRACKING_PASSWORD (basic auth)" in out
    assert "warning: HOKUSAI_API_KEY set but not sent" in out
    assert "refused the username and password (401)" in out
    assert "refused the API key" not in out
    assert KEY not in out + result.stderr


def test_a_wrong_path_on_a_real_server_says_to_check_the_uri_path(tmp_path, mlflow_server: Server):
    (tmp_path / ".git").mkdir()
    uri = f"{mlflow_server.uri}/api/mlflow"  # a path this server does not serve
    result = run_cli("doctor", "--tracking-uri", uri, "--retries", "0", cwd=tmp_path)
    assert result.returncode == 1
    assert "check the URI's path" in result.stdout
    assert "<!doctype" not in result.stdout.lower()
