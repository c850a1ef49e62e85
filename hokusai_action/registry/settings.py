"""Where the registry is and how to reach it: resolved once, from flags and environment.

No MLflow import here: `register --dry-run` shows the target without loading MLflow.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from hokusai_action.errors import HokusaiError
from hokusai_action.registry import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    SECRET_VARIABLES,
    URI_VARIABLES,
)
from hokusai_action.validation.rules import find_root

PRODUCTION_URI = "https://registry.hokus.ai/api/mlflow"
EMBEDDED_DIR = ".hokusai"
# Credentials the registry client sends: stripped, and refused with a control character inside.
REGISTRY_CREDENTIALS = ("HOKUSAI_API_KEY", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
                        "MLFLOW_TRACKING_PASSWORD")  # fmt: skip
KNOWN_SCHEMES = ("http", "https", "sqlite", "databricks")
# MLflow 3 refuses its file store unless MLFLOW_ALLOW_FILE_STORE=true (maintenance mode)
FILE_STORE_REFUSED = (
    "MLflow 3 refuses `file:` stores (its filesystem backend is in maintenance mode): use "
    "sqlite:///PATH/mlflow.db (`mlflow migrate-filestore` moves an existing ./mlruns there), or "
    "set neither --tracking-uri nor MLFLOW_TRACKING_URI to use the embedded registry"
)
_DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")  # SQLAlchemy stores MLflow also reads
MIN_SECRET = 4  # shorter values are not masked: they would mask ordinary text
FRAGMENT = 8  # any run this long of a secret is masked
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_HOST_LIKE = re.compile(r"[A-Za-z0-9.-]+(:[0-9]+)?(/|$)")
_SCHEME_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
LOCK_LEASE = 60  # seconds a registration's lock outlives its last renewal (see lock.py)
LOCK_WAIT = 600  # seconds to wait for other registrations of the token (HOKUSAI_LOCK_WAIT)


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    tracking_uri: str
    embedded: bool  # the SQLite registry inside the repository
    artifact_root: Path | None  # where the embedded registry keeps artifacts
    auth: str  # how we authenticate, for people: never the secret itself
    retries: int = DEFAULT_RETRIES
    timeout: int = DEFAULT_TIMEOUT
    secrets: tuple[str, ...] = field(default=(), repr=False)
    lock_lease: float = LOCK_LEASE
    lock_wait: float = LOCK_WAIT
    auth_warnings: tuple[str, ...] = ()  # credentials set but not sent (see credential_sent)

    @property
    def lock_file(self) -> Path | None:
        """The embedded registry's flock file, beside its database (see lock.py)."""
        if not self.embedded:
            return None
        return Path(self.tracking_uri.removeprefix("sqlite:///") + ".lock")

    @property
    def display_uri(self) -> str:
        return redact(self.tracking_uri, self.secrets)

    def mlflow_environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """Variables MLflow's client reads: the token, and retry and timeout bounds (MLflow's
        own defaults wait about four minutes on a dead server)."""
        out = {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(self.retries),
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(self.timeout),
            # MLflow prints run links on stdout when a run ends: that broke `--format json`.
            "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        }
        # Stripped credentials replace what MLflow would read raw (a key ending in a newline
        # makes requests raise with the key in its message).
        for name in (
            "MLFLOW_TRACKING_TOKEN",
            "MLFLOW_TRACKING_USERNAME",
            "MLFLOW_TRACKING_PASSWORD",
        ):
            if env.get(name):
                out[name] = env[name].strip()
        if env.get("HOKUSAI_API_KEY"):  # the key wins, as `auth` says
            out["MLFLOW_TRACKING_TOKEN"] = env["HOKUSAI_API_KEY"].strip()
        return out


def resolve_settings(
    tracking_uri: str | None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    retries: int = DEFAULT_RETRIES,
    timeout: int = DEFAULT_TIMEOUT,
) -> RegistrySettings:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else the embedded SQLite registry at the
    repository root (`.hokusai/mlflow.db`), so every directory of a checkout shares one.

    Credentials are stripped of surrounding whitespace; one with a control character inside,
    or a URI MLflow cannot read, is a SettingsError (exit 2)."""
    env = os.environ if env is None else env
    secrets = collect_secrets(env, uris=(tracking_uri,))
    for name in REGISTRY_CREDENTIALS:
        clean_secret(name, env.get(name, ""))
    if tracking_uri and tracking_uri.strip():
        uri: str | None = check_tracking_uri(tracking_uri, "--tracking-uri")
    elif env.get("MLFLOW_TRACKING_URI", "").strip():
        uri = check_tracking_uri(env["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI")
    else:
        uri = None
    wait = _lock_wait(env)
    if uri:
        auth, warnings = credential_sent(uri, env)
        return RegistrySettings(uri, False, None, auth, retries, timeout, secrets, lock_wait=wait,
                                auth_warnings=warnings)  # fmt: skip
    home = find_root(cwd or Path.cwd()) / EMBEDDED_DIR
    return embedded_settings(
        home, retries=retries, timeout=timeout, secrets=secrets, lock_wait=wait
    )


URI_USER_PART = "the tracking URI's user part"


def credential_sent(uri: str, env: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Which credential MLflow's client really sends, for people (never the secret), and a
    warning for each one that is set but not sent. MLflow (utils/rest_utils.py) sends basic
    auth when MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD are both set, and the
    token (HOKUSAI_API_KEY, which we pass as MLFLOW_TRACKING_TOKEN) only otherwise; requests
    replaces either with the URI's own `user:password@`, when it has one."""
    key = bool(env.get("HOKUSAI_API_KEY", "").strip())
    token = bool(env.get("MLFLOW_TRACKING_TOKEN", "").strip())
    username = env.get("MLFLOW_TRACKING_USERNAME", "").strip()
    basic = bool(username) and bool(env.get("MLFLOW_TRACKING_PASSWORD", "").strip())
    tokens = [n for n, set_ in (("HOKUSAI_API_KEY", key), ("MLFLOW_TRACKING_TOKEN", token)) if set_]
    warnings = []
    if _userinfo(uri):
        auth = f"{URI_USER_PART} (basic auth)"
        ignored = [*tokens, *(["MLFLOW_TRACKING_USERNAME/PASSWORD"] if basic else [])]
        if ignored:
            warnings.append(f"{' and '.join(ignored)} set but not sent: the user part of the "
                            "tracking URI is sent instead; keep one credential")  # fmt: skip
        return auth, tuple(warnings)
    if basic:
        auth = f"MLFLOW_TRACKING_USERNAME={username} and MLFLOW_TRACKING_PASSWORD (basic auth)"
        if tokens:
            warnings.append(
                f"{' and '.join(tokens)} set but not sent: MLflow sends basic auth when "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD are both set; unset "
                "the pair to send the key, or unset the key"
            )
        return auth, tuple(warnings)
    if username:
        warnings.append("MLFLOW_TRACKING_USERNAME set without MLFLOW_TRACKING_PASSWORD: MLflow "
                        "sends no basic auth without both")  # fmt: skip
    if key:
        auth = "HOKUSAI_API_KEY (sent as a bearer token)"
        if token:
            warnings.append("MLFLOW_TRACKING_TOKEN set but not sent: HOKUSAI_API_KEY is sent "
                            "in its place; keep one")  # fmt: skip
    elif token:
        auth = "MLFLOW_TRACKING_TOKEN (bearer token)"
    else:
        auth = "none"
    return auth, tuple(warnings)


def embedded_settings(
    home: Path,
    *,
    retries: int = DEFAULT_RETRIES,
    timeout: int = DEFAULT_TIMEOUT,
    secrets: tuple[str, ...] = (),
    lock_wait: float = LOCK_WAIT,
) -> RegistrySettings:
    """An embedded SQLite registry kept in `home` (the database, its lock and artifacts).
    A `?` or `%` in its path would be read as a URL's query or escape (SQLite would open
    another file, outside `home`): refused."""
    if found := sorted(set("?%") & set(str(home))):
        raise SettingsError(
            f"the embedded registry's folder {home} holds `{found[0]}`, which a SQLite URL "
            "cannot carry; work in a folder without it, or pass --tracking-uri"
        )
    return RegistrySettings(
        f"sqlite:///{(home / 'mlflow.db').as_posix()}", True, home / "artifacts", "none (local)",
        retries, timeout, secrets, lock_wait=lock_wait,
    )  # fmt: skip


class SettingsError(HokusaiError):
    """A secret or URI that cannot be used as given: a usage error (exit 2). The message names
    the variable or flag, never a secret's value."""

    exit_code = 2


def _lock_wait(env: Mapping[str, str]) -> float:
    text = env.get("HOKUSAI_LOCK_WAIT", "").strip()
    if not text:
        return LOCK_WAIT
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise SettingsError(
            f"HOKUSAI_LOCK_WAIT must be a whole number of seconds (e.g. {LOCK_WAIT}), "
            f"not {text[:20]!r}"
        )
    return float(text)


def clean_secret(name: str, value: str) -> str:
    """The value with surrounding whitespace removed (`echo KEY > secret` leaves a newline);
    refused when a line break or another control character is left inside it. The message
    names the variable, never the value."""
    value = value.strip()
    if what := _control_character(value):
        raise SettingsError(
            f"{name} holds {what} inside it: a secret must be one line with no control "
            f"characters; set {name} again with just the key (spaces and line breaks around it "
            "are removed)"
        )
    if not value.isascii():  # it travels in an HTTP header, which holds no such character
        raise SettingsError(
            f"{name} holds a character that is not ASCII: keys and tokens are ASCII; set {name} "
            "again, copied from where it was issued"
        )
    return value


def check_tracking_uri(uri: str, source: str = "the tracking URI") -> str:
    """The URI, stripped, when MLflow can use it; otherwise a SettingsError (exit 2) naming
    `source` and the nearest known scheme, with the URI's user part masked."""
    from hokusai_action.validation.suggest import closest

    uri = uri.strip()
    shown = redact(uri, collect_secrets({}, uris=(uri,)))
    if what := _control_character(uri):
        raise SettingsError(f"{source} holds {what}: write the URI on one line")
    forms = "http(s)://HOST[:PORT][/PATH], sqlite:///PATH or databricks"
    if uri.lower() == "databricks":
        return uri
    scheme, _, rest = uri.partition(":") if ":" in uri else ("", "", uri)
    scheme = scheme.lower()
    base = scheme.split("+", 1)[0]
    if not _SCHEME.fullmatch(scheme) or ("://" not in uri and base not in KNOWN_SCHEMES):
        hint = ""
        if uri.startswith("/"):
            database = shown if uri.endswith(".db") else f"{shown.rstrip('/')}/mlflow.db"
            hint = f"; did you mean `sqlite:///{database}`?"
        elif _HOST_LIKE.match(uri):
            local = uri.lower().startswith(("localhost", "127.", "[::1]"))
            hint = f"; did you mean `{'http' if local else 'https'}://{shown}`?"
        raise SettingsError(f"{source} `{shown}` has no scheme: write {forms}{hint}")
    if base == "file" and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() != "true":
        raise SettingsError(f"{source} `{shown}`: {FILE_STORE_REFUSED}")
    if base not in KNOWN_SCHEMES and base not in _DATABASE_SCHEMES:
        match = closest(scheme, KNOWN_SCHEMES, cutoff=0.5)
        fixed = f"{match}:{redact(rest, collect_secrets({}, uris=(uri,)))}"
        hint = f"; did you mean `{fixed}`?" if match else ""
        raise SettingsError(
            f"{source} `{shown}` has the unknown scheme `{scheme}` (MLflow reads "
            f"{', '.join(KNOWN_SCHEMES)}){hint}"
        )
    if base in ("http", "https"):
        try:
            parts = urlsplit(uri)
            valid = bool(parts.hostname) and (parts.port or 0) >= 0
        except ValueError:
            valid = False
        if not valid:
            raise SettingsError(
                f"{source} `{shown}` names no valid host and port: write "
                f"{scheme}://HOST[:PORT][/PATH], e.g. https://registry.hokus.ai/api/mlflow"
            )
    return uri


def _control_character(value: str) -> str | None:
    """What the first line break or control character of `value` is, without the value."""
    for char in value:
        if unicodedata.category(char) in _CONTROL_CATEGORIES:
            if char in _LINE_BREAKS:
                return "a line break"
            return f"a control character (U+{ord(char):04X})"
    return None


def secret_values(env: Mapping[str, str], uris: Iterable[str | None] = ()) -> list[str]:
    """Every secret of this process, stripped: the secret variables and the user parts of
    tracking URIs (`http://TOKEN@host`, `http://user:password@host`)."""
    values = [env.get(name, "").strip() for name in SECRET_VARIABLES]
    for uri in (*uris, *(env.get(name) for name in URI_VARIABLES)):
        values += _userinfo_parts(uri or "")
    return [v for v in dict.fromkeys(values) if v]


def collect_secrets(env: Mapping[str, str], uris: Iterable[str | None] = ()) -> tuple[str, ...]:
    """Every form in which a secret of `env` (or of the URIs' user parts) could be printed:
    as given and stripped, line by line, escaped (repr, JSON, URL), and inside an
    `Authorization` header (base64 of `user:password`, `TOKEN:` and `:TOKEN`). Longest first,
    so a value is masked whole before its parts."""
    uris = tuple(uris)
    raws = [env.get(name, "") for name in SECRET_VARIABLES]
    values = [*raws, *secret_values(env, uris)]
    pairs = []
    username = env.get("MLFLOW_TRACKING_USERNAME", "").strip()
    password = env.get("MLFLOW_TRACKING_PASSWORD", "").strip()
    if password:
        pairs.append((username, password))
    for uri in (*uris, *(env.get(name) for name in URI_VARIABLES)):
        pairs += _userinfo_pairs(uri or "")
    return secret_forms(values, pairs)


def secret_forms(values: Iterable[str], pairs: Iterable[tuple[str, str]] = ()) -> tuple[str, ...]:
    """The printable forms of these secret values and basic-auth (user, password) pairs."""
    forms: set[str] = set()
    pairs = list(pairs)
    for raw in values:
        for value in {raw, raw.strip(), *(line.strip() for line in raw.splitlines())}:
            if not value:
                continue
            quoted = {quote(data, safe="") for data in _encodings(value)}
            forms |= {value, repr(value)[1:-1], json.dumps(value)[1:-1], *quoted}
            pairs += [(value, ""), ("", value)]
            forms |= _base64_forms(value)
    for user, password in pairs:
        forms |= _base64_forms(f"{user}:{password}")
    return tuple(sorted((f for f in forms if len(f) >= MIN_SECRET), key=len, reverse=True))


_URL_USERINFO = re.compile(r"(?<=://)[^/?#\s\"'<>`\\]*@")


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret form masked, then any 8-character run of one (a line of a
    multi-line secret, a prefix left by truncation), then any URL's user part. Redact before
    cutting a text short: a cut can leave a prefix no longer equal to the secret."""
    secrets = tuple(secrets)
    for secret in secrets:
        text = text.replace(secret, "***")
    grams = _grams(secrets)
    if grams and len(text) >= FRAGMENT:
        text = _mask_fragments(text, grams)
    return _URL_USERINFO.sub("***@", text)


def _mask_fragments(text: str, grams: frozenset[str]) -> str:
    runs: list[list[int]] = []  # [start, end) of text to mask, merged when they touch
    for i in range(len(text) - FRAGMENT + 1):
        if text[i : i + FRAGMENT] in grams:
            if runs and i <= runs[-1][1]:
                runs[-1][1] = i + FRAGMENT
            else:
                runs.append([i, i + FRAGMENT])
    runs = [run for run in runs if not _a_word_of_ours(text, *run)]
    if not runs:
        return text
    out, position = [], 0
    for start, end in runs:
        out += [text[position:start], "***"]
        position = end
    out.append(text[position:])
    return "".join(out)


def _a_word_of_ours(text: str, start: int, end: int) -> bool:
    """Whether a run of a secret is a word of our own text (`password` in "the username and
    password (basic auth)"), not a piece of the secret: lowercase letters (a capital first),
    between spaces or punctuation on both sides. A secret printed whole was masked whole
    before this; a piece of one left by a cut ends the text or ends in `…`, and a piece of
    its base64 or URL form runs into `+`, `/`, `=`, `%`, `-` or `_`, so neither is a word."""
    word = text[start:end]
    if end >= len(text) or not (word.isascii() and word.isalpha()):
        return False
    if not (word.islower() or (word[0].isupper() and word[1:].islower())):
        return False
    joins = "_-+/=%~…"
    before = text[start - 1] if start else " "
    after = text[end]
    return not (before.isalnum() or before in joins or after.isalnum() or after in joins)


@functools.lru_cache(maxsize=32)
def _grams(secrets: tuple[str, ...]) -> frozenset[str]:
    return frozenset(
        s[i : i + FRAGMENT]
        for s in secrets
        if len(s) >= FRAGMENT
        for i in range(len(s) - FRAGMENT + 1)
    )


def _base64_forms(text: str) -> set[str]:
    """The base64 of `text`, and the part of it that stays the same whatever precedes it
    (at each of the three byte alignments) or follows it: `user:password` masked through its
    password alone, with the 8-character fragment rule."""
    forms = set()
    for data in _encodings(text):
        whole = base64.b64encode(data).decode()
        forms |= {whole, whole.rstrip("=")}
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + data).decode()
            end = len(encoded) - 4 if (shift + len(data)) % 3 else len(encoded)
            forms.add(encoded[4 if shift else 0 : end])
    return forms | {f.replace("+", "-").replace("/", "_") for f in forms}


def _encodings(text: str) -> set[bytes]:
    """The bytes `text` may go out as: UTF-8 (lone surrogates as themselves), and where they
    can be encoded so, a byte that is not UTF-8 (it reaches os.environ as a lone surrogate and
    goes out as that byte again) and Latin-1 (what requests encodes a URI's `user:password`
    as for a Basic header)."""
    out = {text.encode("utf-8", "surrogatepass")}
    for encoding, errors in (("utf-8", "surrogateescape"), ("latin-1", "strict")):
        with contextlib.suppress(UnicodeEncodeError):
            out.add(text.encode(encoding, errors))
    return out


def _userinfo(uri: str) -> str | None:
    """Everything before a URI's last `@` (after `scheme://`): its user part, also when a
    password holds an unencoded `#`, `/` or `?`, or the scheme is missing, so a URI that does
    not parse is masked all the same."""
    text = uri.strip()
    if "@" not in text:
        return None
    head = text.rpartition("@")[0]
    scheme = _SCHEME_PREFIX.match(head)
    return head[scheme.end() :] if scheme else head or None


def _userinfo_parts(uri: str) -> list[str]:
    info = _userinfo(uri)
    if not info:
        return []
    user, _, password = info.partition(":")
    parts = [info, unquote(info), user, password, unquote(user), unquote(password)]
    return [p for p in parts if p]


def _userinfo_pairs(uri: str) -> list[tuple[str, str]]:
    info = _userinfo(uri)
    if not info:
        return []
    user, _, password = info.partition(":")
    return [(user, password), (unquote(user), unquote(password))]
