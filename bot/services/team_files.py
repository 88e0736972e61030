"""The files a team tunes the desk with (CARE_TRIAGE_FILE, CARE_PLAYBOOK_FILE): TOML read one way, and a mistake in
one answered the same way, as a ConfigError in one sentence that names the setting, the file and the problem, so
`care-bot serve` stops at start with exit status 2 instead of tracebacking later."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import ConfigError

T = TypeVar("T")


class FileProblem(Exception):
    """One problem found in a team file's contents; `read` turns it into a ConfigError naming the file."""


def read_text(path: Path, *, where: str, kind: str, error: Callable[[str], Exception] = ConfigError) -> str:
    """The UTF-8 text of a file a person named. `where` names it for people (the setting and its path), `kind` what
    it should be ("playbook"); each problem (missing, unreadable, a directory, not UTF-8) is `error` in one
    sentence."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise error(f"{where} names a directory, not a {kind} file.") from None
    except FileNotFoundError:
        raise error(f"{where} does not exist.") from None
    except OSError as exc:
        raise error(f"{where} could not be read: {exc.strerror or exc}.") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{where} is not UTF-8 text.") from None


def read(path: Path, *, where: str, kind: str, parse: Callable[[dict[str, Any]], T]) -> T:
    """`parse` applied to the TOML in `path`: each problem (as `read_text`, not TOML, a FileProblem from `parse`)
    is a ConfigError in one sentence."""
    text = read_text(path, where=where, kind=kind)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}.") from None
    try:
        return parse(data)
    except FileProblem as exc:
        raise ConfigError(f"{where}: {exc}") from None


def known(table: Mapping[str, Any], keys: set[str], where: str) -> None:
    """Refuse a setting the file's reader does not know (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(table) - keys)
    if unknown:
        raise FileProblem(f"{where} has an unknown setting {unknown[0]!r} (known: {', '.join(sorted(keys))}).")


def table(data: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    """The table `name` of the file (empty when left out); `where` names it for people, e.g. "[compose]"."""
    found = data.get(name, {})
    if not isinstance(found, dict):
        raise FileProblem(f"{where} must be a table.")
    return found
