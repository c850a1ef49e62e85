"""Did-you-mean: the nearest known name to a misspelt one."""

from __future__ import annotations

from collections.abc import Iterable

from hokusai_action.inert import shown


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    import difflib  # only a misspelt name needs it: kept out of the hook's start-up

    options = list(candidates)
    match = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if match:
        return match[0]
    lowered = {c.lower(): c for c in options}
    return lowered.get(word.lower())


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`; did you mean `x`?` or an empty string, ready to append to a message."""
    match = closest(word, candidates)
    return f"; did you mean `{shown(match)}`?" if match else ""


def did_you_mean_canonical(word: str, candidates: Iterable[str], aliases: dict[str, str]) -> str:
    """Like did_you_mean, but a near alias suggests the name it stands for."""
    match = closest(word, [*candidates, *aliases])
    return f"; did you mean `{shown(aliases.get(match, match))}`?" if match else ""
