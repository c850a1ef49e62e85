"""`hokusai-action promote`: move an alias (`champion` by default) to a registered version.

A DeltaOne version gets the alias `challenger`; `@champion` keeps loading the older model until
someone promotes the new one. Promoting is a person's decision, recorded on the version as
tags (who, when, which alias, whether forced). Only the token's rewarded high-water mark may
be promoted without `--force`: the model the token was paid for, not a version judged worse.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from hokusai_action.commands.options import format_option, registry_options
from hokusai_action.errors import HokusaiError
from hokusai_action.inert import inert_json, shown

if TYPE_CHECKING:
    from hokusai_action.registry.mlflow_store import MlflowRegistry, VersionRecord

PROMOTED_BY_TAG = "hokusai_promoted_by"
PROMOTED_AT_TAG = "hokusai_promoted_at"
PROMOTED_ALIAS_TAG = "hokusai_promoted_alias"
PROMOTED_FORCED_TAG = "hokusai_promoted_forced"
_ALIAS = re.compile(r"[A-Za-z0-9_-]{1,255}")


@dataclass(frozen=True, slots=True)
class Promotion:
    """What `promote` did: the alias now on `version`, and where it was before."""

    model_name: str
    version: int
    alias: str
    previous: int | None  # the version the alias was on, None when it was new
    promoted_by: str
    promoted_at: str
    forced: bool
    high_water: tuple[str, int] | None  # (model, version): the token's rewarded best
    tracking_uri: str
    embedded: bool

    @property
    def changed(self) -> bool:
        return self.previous != self.version


def high_water_mark(records: list[VersionRecord]) -> VersionRecord | None:
    """The token's rewarded high-water mark (registry/baseline.py `choose`) on its current
    benchmark: the newest benchmark that has a rewarded version. `records` oldest first."""
    from hokusai_action.registry.baseline import Benchmark, choose
    from hokusai_action.validation.metrics import Direction

    tried: list[Benchmark] = []
    for record in reversed(records):
        if record.benchmark_value is None:
            continue
        bench = Benchmark.from_tags(record.tags)
        if bench in tried:
            continue
        tried.append(bench)
        direction = Direction.LOWER if bench.direction == "lower" else Direction.HIGHER
        chosen = choose(records, bench, direction).record
        if chosen is not None:
            return chosen
    return None


def promoted_by(env: Mapping[str, str], registry_user: str | None = None) -> str:
    """Who promotes: the registry's username, else the GitHub actor, else the login name."""
    from hokusai_action.registry.record import who

    return who({"MLFLOW_TRACKING_USERNAME": registry_user or "",
                "GITHUB_ACTOR": env.get("GITHUB_ACTOR", "")})  # fmt: skip


def _command(token_id: str, version: int, model: str | None, alias: str) -> str:
    parts = ["hokusai-action promote", f"--token {token_id}", f"--version {version}"]
    if model is not None:
        parts.append(f"--model {model}")
    if alias != "champion":
        parts.append(f"--alias {alias}")
    return " ".join(parts)


def promote(
    registry: MlflowRegistry,
    token_id: str,
    version: int,
    *,
    model: str | None = None,
    alias: str = "champion",
    force: bool = False,
    env: Mapping[str, str] | None = None,
) -> Promotion:
    """Move `alias` to `version` of the token's model, after checking it is the token's
    rewarded high-water mark (unless `force`); tags first, then the alias, so a run that
    failed half-way is completed by running it again."""
    env = os.environ if env is None else env
    uri = registry.settings.display_uri
    token = shown(token_id)
    records = registry.versions_for_token(token_id)
    if not records:
        raise HokusaiError(
            f"no registered version carries token `{token}` in {uri}: check --token (see "
            "`hokusai-action list`) and --tracking-uri"
        )
    names = list(dict.fromkeys(r.name for r in records))
    if model is None:
        if len(names) > 1:
            raise HokusaiError(
                f"token `{token}` has versions in {len(names)} models "
                f"({', '.join(shown(n) for n in names)}): say which with --model NAME"
            )
        name = names[0]
    elif model in names:
        name = model
    else:
        raise HokusaiError(
            f"no version of `{shown(model)}` carries token `{token}` in {uri}; the token's "
            f"models: {', '.join(shown(n) for n in names)} (--model)"
        )
    target = registry.get_version(name, version)
    if target is None or target.token_id != token_id:
        have = sorted(r.version for r in records if r.name == name)
        raise HokusaiError(
            f"no version {version} of `{shown(name)}` carries token `{token}` in {uri}; its "
            f"versions: {', '.join(map(str, have))} (see `hokusai-action lineage --token "
            f"{token}`)"
        )
    best = high_water_mark(records)
    is_best = best is not None and (best.name, best.version) == (name, version)
    if not is_best and not force:
        if best is None:
            raise HokusaiError(
                f"token `{token}` has no rewarded version (a first registration or a DeltaOne) "
                f"in {uri} to promote; pass --force to promote version {version} anyway"
            )
        right = _command(token, best.version, best.name if model else None, alias)
        raise HokusaiError(
            f"version {version} of `{shown(name)}` is not token `{token}`'s rewarded "
            f"high-water mark: that is version {best.version} of `{shown(best.name)}` "
            f"({shown(best.metric or 'benchmark')} {best.benchmark_value:.6g}). Promote it "
            f"(`{right}`), or pass --force to promote version {version} anyway"
        )
    previous = registry.aliases_of(name).get(alias)
    user = env.get("MLFLOW_TRACKING_USERNAME") if not registry.settings.embedded else None
    promotion = Promotion(
        name, version, alias, previous, promoted_by(env, user),
        datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        force and not is_best, (best.name, best.version) if best else None,
        registry.settings.tracking_uri, registry.settings.embedded,
    )  # fmt: skip
    if promotion.changed:
        registry.set_version_tags(name, version, {
            PROMOTED_BY_TAG: promotion.promoted_by,
            PROMOTED_AT_TAG: promotion.promoted_at,
            PROMOTED_ALIAS_TAG: alias,
            PROMOTED_FORCED_TAG: "true" if promotion.forced else "false",
        })  # fmt: skip
        registry.set_alias(name, alias, version)
    return promotion


def text(p: Promotion, display_uri: str) -> list[str]:
    from hokusai_action.registry.output import load_line

    name = shown(p.model_name)
    if not p.changed:
        head = f"`{name}@{p.alias}` is already version {p.version}: nothing changed"
    else:
        was = f" (was version {p.previous})" if p.previous is not None else ""
        head = f"promoted `{name}` version {p.version} to @{p.alias}{was} in {display_uri}"
    lines = [head]
    if p.changed:
        lines.append(
            f"  recorded: {PROMOTED_BY_TAG}={shown(p.promoted_by)}, {PROMOTED_AT_TAG}="
            f"{p.promoted_at}" + (" (forced: not the rewarded high-water mark)" * p.forced)
        )
    lines.append(f"  load it: {load_line(p.tracking_uri, display_uri, p.model_name, p.alias)}")
    return lines


def as_json(p: Promotion, display_uri: str) -> dict[str, Any]:
    return {
        "format_version": 1,
        "model_name": p.model_name,
        "version": p.version,
        "alias": p.alias,
        "previous_version": p.previous,
        "changed": p.changed,
        "promoted_by": p.promoted_by,
        "promoted_at": p.promoted_at,
        "forced": p.forced,
        "high_water_mark": (
            {"model_name": p.high_water[0], "version": p.high_water[1]} if p.high_water else None
        ),
        "tracking_uri": display_uri,
        "model_uri": f"models:/{p.model_name}@{p.alias}",
    }


def _alias(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _ALIAS.fullmatch(value) or value == "latest" or re.fullmatch(r"[vV][0-9]+", value):
        raise click.BadParameter(
            f"{value!r} cannot be an MLflow alias: use letters, digits, `_` and `-` (not "
            "`latest`, nor `v` and a number), e.g. champion"
        )
    return value


@click.command("promote")
@click.option("--token", "token_id", required=True, help="Hokusai token ID, e.g. CHURN-001.")
@click.option(
    "--version",
    "version",
    type=click.IntRange(1),
    required=True,
    help="The version to promote (see `hokusai-action lineage --token TOKEN`).",
)
@click.option("--model", help="Registered model name [default: the token's one model].")
@click.option(
    "--alias",
    default="champion",
    show_default=True,
    callback=_alias,
    help="The alias to move to the version.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Promote a version that is not the token's rewarded high-water mark.",
)
@registry_options
@format_option("text", "json")
def promote_command(
    token_id: str, version: int, model: str | None, alias: str, force: bool,
    tracking_uri: str | None, retries: int, timeout: int, output_format: str,
) -> None:  # fmt: skip
    """Move an alias (default champion) to VERSION of the token's model, so that
    `models:/NAME@champion` loads it, and record who promoted it and when as version tags.
    Only the token's rewarded high-water mark unless --force."""
    from hokusai_action.cli import _echo, _open_registry, _settings

    registry = _open_registry(_settings(tracking_uri, retries, timeout))
    done = promote(registry, token_id, version, model=model, alias=alias, force=force)
    uri = registry.settings.display_uri
    if output_format == "json":
        click.echo(inert_json(json.dumps(as_json(done, uri), indent=2)))
    else:
        _echo(text(done, uri))
