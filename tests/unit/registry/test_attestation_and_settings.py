from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hokusai_action.registry.attestation import canonical_json, digest, document
from hokusai_action.registry.settings import collect_secrets, redact, resolve_settings


def test_attestation_hash_is_sha256_of_canonical_json_without_the_timestamp():
    facts = {"b": 1, "a": {"z": 0.5, "y": None}, "name": "modèle"}
    doc = document(facts, "2026-11-26T00:00:00+00:00")
    expected = hashlib.sha256('{"a":{"y":null,"z":0.5},"b":1,"name":"modèle"}'.encode()).hexdigest()
    assert doc["sha256"] == digest(facts) == expected
    assert document(facts, "2030-01-01T00:00:00+00:00")["sha256"] == expected


def test_canonical_json_refuses_non_finite_numbers():
    with pytest.raises(ValueError, match="Out of range"):
        canonical_json({"x": float("inf")})


def test_attestation_recomputes_from_the_file_alone(tmp_path):
    doc = document({"model": "m", "delta": 0.0113}, "now")
    path = tmp_path / "attestation.json"
    path.write_text(json.dumps(doc, indent=2))
    loaded = json.loads(path.read_text())
    again = hashlib.sha256(
        json.dumps(
            loaded["attestation"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    ).hexdigest()
    assert again == loaded["sha256"]


def test_flag_beats_environment_beats_embedded_default(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    assert resolve_settings("http://flag:5000", env).tracking_uri == "http://flag:5000"
    assert resolve_settings(None, env).tracking_uri == "http://env:5000"
    embedded = resolve_settings(None, {}, cwd=tmp_path / "sub")
    assert embedded.embedded
    assert (
        embedded.tracking_uri
        == f"sqlite:///{(tmp_path / '.hokusai' / 'mlflow.db').resolve().as_posix()}"
    )
    assert embedded.artifact_root == (tmp_path / ".hokusai" / "artifacts").resolve()


def test_hokusai_api_key_is_sent_as_the_tracking_token():
    settings = resolve_settings("http://x", {"HOKUSAI_API_KEY": "hk-abcdef"})
    assert (
        settings.mlflow_environment({"HOKUSAI_API_KEY": "hk-abcdef"})["MLFLOW_TRACKING_TOKEN"]
        == "hk-abcdef"
    )
    assert "hk-abcdef" not in settings.auth
    assert "hk-abcdef" not in repr(settings)


def test_the_hokusai_key_is_what_is_sent_and_what_is_reported():
    env = {"HOKUSAI_API_KEY": "hk-abcdef", "MLFLOW_TRACKING_TOKEN": "stale-token"}
    settings = resolve_settings("http://x", env)
    assert settings.mlflow_environment(env)["MLFLOW_TRACKING_TOKEN"] == "hk-abcdef"
    assert settings.auth.startswith("HOKUSAI_API_KEY")


def test_an_mlflow_token_alone_is_sent_stripped():
    env = {"MLFLOW_TRACKING_TOKEN": "mlflow-token\n"}
    settings = resolve_settings("http://x", env)
    assert settings.mlflow_environment(env)["MLFLOW_TRACKING_TOKEN"] == "mlflow-token"
    assert settings.auth.startswith("MLFLOW_TRACKING_TOKEN")


def test_retries_and_timeout_are_bounded_for_mlflow():
    mlflow_env = resolve_settings("http://x", {}, retries=1, timeout=3).mlflow_environment({})
    assert mlflow_env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
    assert mlflow_env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "3"


def test_redact_masks_secret_values_and_url_passwords():
    secrets = collect_secrets({"HOKUSAI_API_KEY": "hk-secret-1", "GITHUB_TOKEN": "ghs_abc123"})
    text = "key hk-secret-1 token ghs_abc123 at https://user:pa55@host/api"
    assert redact(text, secrets) == "key *** token *** at https://***@host/api"


def test_display_uri_hides_a_password_in_the_uri(tmp_path: Path):
    assert (
        resolve_settings("https://u:hunter2@registry/api", {}).display_uri
        == "https://***@registry/api"
    )
