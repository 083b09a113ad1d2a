"""Each optional part (Celery, cron, frontend) is either all there and working, or all gone.

For every combination of the options: a part that is switched off leaves no file, name,
service, image stage or mention behind; a part that is switched on has all its pieces.
Then the parts really work: the frontend builds with npm into the files the templates
load and collectstatic serves them; the Celery worker test runs against the real Redis.
(The generated projects' own suites, with their Celery and crontab tests, run in
tests/test_project_suite.py.)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from hooks.post_gen_project import PARTS, part_paths
from tests.answers import KUBERNETES_SETS, OPTION_SETS, OPTIONS, with_answers
from tests.helpers import dockerfile_stages, run
from tests.require import require_redis
from tests.venvs import project_environment

# What a switched-off part must not leave anywhere: in a file's content or in a path,
# case-insensitive. A word is bounded by non-letters: "heartbeat" is not "beat", but
# "node_modules" is "node".
FORBIDDEN = {
    "use_celery": re.compile(r"celery|redis|(?<![a-z])beat(?![a-z])", re.IGNORECASE),
    "use_cron": re.compile(r"crontab|supercronic|croniter|(?<![a-z])cron(?![a-z])", re.IGNORECASE),
    "use_frontend": re.compile(r"(?<![a-z])(npm|node|esbuild|frontend)(?![a-z])|package(-lock)?\.json", re.IGNORECASE),
}
# What each deploy target brings, which a project deployed to another target must not mention.
DEPLOY_TARGET_TRACES = {
    "kubernetes": re.compile(r"kubectl|kustomiz|(?<![\w.-])deploy/|rollback-(acceptance|production)", re.IGNORECASE),
    "webhook": re.compile(r"webhook", re.IGNORECASE),
}
# The questions' own names (docs on answers and cruft) name no part: they are not traces.
QUESTION_NAMES = re.compile(r"\buse_(celery|cron|frontend)\b")
# GitLab's own field names, which name no part, in the files that configure GitLab: a
# pipeline schedule's `cron` and `cron_timezone` (bin/setup-gitlab, .gitlab/settings.toml).
GITLAB_SCHEDULE_FIELDS = re.compile(r"\bcron(_timezone)?\b")
NOT_PARTS = {"bin/setup-gitlab": GITLAB_SCHEDULE_FIELDS, ".gitlab/settings.toml": GITLAB_SCHEDULE_FIELDS}
# Build output of running a project, not part of what the template generates.
NOT_GENERATED = {"__pycache__", ".pytest_cache"}
STATIC_TAG = re.compile(r"""\{%\s*static\s+(['"])(?P<name>[^'"]+)\1\s*%\}""")


def switched_on(option: str) -> list[dict]:
    return [options for options in OPTION_SETS if options[option]]


def switched_off(answers: dict) -> list[str]:
    return [option for option in OPTIONS if not answers[option]]


# ---- helpers -------------------------------------------------------------------------


def generated_paths(project: Path):
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if not NOT_GENERATED.intersection(relative.parts):
            yield path, relative


def traces(project: Path, pattern: re.Pattern) -> list[str]:
    """Every path and every line below project that pattern finds, as 'path:line: text'."""
    found = []
    for path, relative in generated_paths(project):
        if pattern.search(relative.as_posix()):
            found.append(f"{relative}: (the path itself)")
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            not_parts = NOT_PARTS.get(relative.as_posix(), QUESTION_NAMES)
            if pattern.search(not_parts.sub("", QUESTION_NAMES.sub("", line))):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def compose_services(project: Path) -> dict:
    return yaml.safe_load((project / "compose.yaml").read_text())["services"]


def image_name(image: str) -> str:
    """'docker.io/library/node:24-slim' -> 'node'."""
    return image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]


def node_stages(stages: list[dict]) -> list[dict]:
    return [stage for stage in stages if image_name(stage["image"]) == "node"]


# ---- the scanner finds what it should, and only that ----------------------------------


def test_traces_respects_word_boundaries(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "celery.py").write_text("app = 1\n")
    (tmp_path / "notes.txt").write_text(
        "a heartbeat\nthe beat service\nCELERY_BEAT_SCHEDULE\nnodes and anode\n**/node_modules\nrun: npm ci\n"
        "answers: use_celery=false\n"
    )
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "celery.cpython-313.pyc").write_text("celery")

    assert traces(tmp_path, FORBIDDEN["use_celery"]) == [
        "config/celery.py: (the path itself)",
        "notes.txt:2: the beat service",
        "notes.txt:3: CELERY_BEAT_SCHEDULE",
    ]
    assert traces(tmp_path, FORBIDDEN["use_frontend"]) == ["notes.txt:5: **/node_modules", "notes.txt:6: run: npm ci"]


def test_traces_leave_out_gitlabs_schedule_fields_only_where_gitlab_is_configured(tmp_path):
    (tmp_path / ".gitlab").mkdir()
    schedule = 'schedules = [{ cron = "0 4 * * 1", cron_timezone = "UTC" }]\n'
    (tmp_path / ".gitlab" / "settings.toml").write_text(schedule + "# runs supercronic\n")
    (tmp_path / "notes.toml").write_text(schedule)

    assert traces(tmp_path, FORBIDDEN["use_cron"]) == [
        ".gitlab/settings.toml:2: # runs supercronic",
        f"notes.toml:1: {schedule.strip()}",
    ]


def test_deploy_target_traces_tell_the_deploy_script_from_the_manifests(tmp_path):
    (tmp_path / "notes.txt").write_text(
        "run ci/deploy production\nkubectl apply -k deploy/overlays/production\nsee deploy/base\n"
        "DEPLOY_WEBHOOK_URL\nthe deploy step\n"
    )

    assert traces(tmp_path, DEPLOY_TARGET_TRACES["kubernetes"]) == [
        "notes.txt:2: kubectl apply -k deploy/overlays/production",
        "notes.txt:3: see deploy/base",
    ]
    assert traces(tmp_path, DEPLOY_TARGET_TRACES["webhook"]) == ["notes.txt:4: DEPLOY_WEBHOOK_URL"]


def test_dockerfile_stages_resolve_global_args(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE=python:3.13\nARG NODE_IMAGE=docker.io/library/node:24-slim\n"
        "FROM ${NODE_IMAGE} AS frontend\nRUN npm ci \\\n    && npm run build\n"
        "FROM --platform=linux/amd64 $BASE AS production\nCOPY --from=frontend /frontend/dist/ /app/dist/\n"
    )

    stages = dockerfile_stages(tmp_path)

    assert [(s["image"], s["name"]) for s in stages] == [
        ("docker.io/library/node:24-slim", "frontend"),
        ("python:3.13", "production"),
    ]
    assert stages[0]["instructions"] == ["RUN npm ci      && npm run build"]
    assert [image_name(s["image"]) for s in stages] == ["node", "python"]


# ---- every combination: off means gone, on means there --------------------------------


@with_answers(*OPTION_SETS, *KUBERNETES_SETS)
def test_a_switched_off_part_leaves_no_trace(project, answers):
    found = {option: traces(project, FORBIDDEN[option]) for option in switched_off(answers)}
    assert {option: lines for option, lines in found.items() if lines} == {}


@with_answers({}, *KUBERNETES_SETS)
def test_the_deploy_target_not_chosen_leaves_no_trace(project, answers):
    others = [target for target in DEPLOY_TARGET_TRACES if target != answers["deploy_target"]]
    found = {target: traces(project, DEPLOY_TARGET_TRACES[target]) for target in others}
    assert {target: lines for target, lines in found.items() if lines} == {}


@with_answers(*OPTION_SETS)
def test_a_switched_off_part_has_no_service_or_image_stage(project, answers):
    services = compose_services(project)
    stages = dockerfile_stages(project)
    off = switched_off(answers)
    if "use_celery" in off:
        assert not {"worker", "beat", "redis"} & set(services)
    if "use_cron" in off:
        assert "cron" not in services
    if "use_frontend" in off:
        assert "frontend" not in services
        assert node_stages(stages) == []
        assert [s["name"] for s in stages if s["name"] == "frontend"] == []
        assert not any("--from=frontend" in i for s in stages for i in s["instructions"])


@with_answers(*OPTION_SETS, *KUBERNETES_SETS)
def test_no_file_is_left_empty(project):
    """A file whose every line is conditional renders empty: its pruner must delete it."""
    empty = [
        relative.as_posix()
        for path, relative in generated_paths(project)
        if path.is_file() and not path.read_bytes().strip() and path.name not in {"__init__.py", ".gitkeep"}
    ]
    assert empty == []


@with_answers(*OPTION_SETS, *KUBERNETES_SETS)
@pytest.mark.parametrize("part", PARTS, ids=lambda part: "-".join(map(str, part)))
def test_each_part_has_its_files_exactly_when_switched_on(project, answers, part):
    """A part's file is there when its part is on and no part that holds its directory is off
    (Celery's worker manifest lives in the Kubernetes part's deploy/)."""
    off = [path for other in PARTS if answers[other[0]] != other[1] for path in part_paths(other, project.name)]
    paths = part_paths(part, project.name)
    expected = {path: path not in off and not any(path.startswith(f"{o}/") for o in off) for path in paths}
    assert {path: (project / path).exists() for path in paths} == expected


@with_answers(*switched_on("use_celery"))
def test_celery_is_wired_in_when_switched_on(project):
    services = compose_services(project)
    assert services["worker"]["command"][:2] == ["celery", "worker"]
    assert services["beat"]["command"][:2] == ["celery", "beat"]
    # CMD-SHELL: the container's shell expands $HOSTNAME after compose turns $$ into $.
    assert services["worker"]["healthcheck"]["test"] == [
        "CMD-SHELL",
        "celery inspect ping --destination celery@$$HOSTNAME",
    ]
    assert "redis" in services
    assert "from .celery import app" in (project / "config" / "__init__.py").read_text()
    settings = (project / "config" / "settings" / "base.py").read_text()
    assert "CELERY_BROKER_URL" in settings
    assert "CELERY_BEAT_SCHEDULE" in settings
    assert "CELERY_TASK_ALWAYS_EAGER" in (project / "config" / "settings" / "testing.py").read_text()
    assert '"redis:' in (project / "pyproject.toml").read_text()  # the pytest marker is registered


@with_answers(*switched_on("use_cron"))
def test_cron_is_wired_in_when_switched_on(project):
    command = compose_services(project)["cron"]["command"]
    assert command[0] == "supercronic"
    # The project is bind-mounted at /app: the crontab compose names is the project's own.
    crontab = Path(command[1])
    assert crontab.is_relative_to("/app")
    assert (project / crontab.relative_to("/app")).is_file()
    assert "croniter" in (project / "requirements-test.txt").read_text()


@with_answers(*switched_on("use_frontend"))
def test_frontend_is_wired_in_when_switched_on(project):
    stages = dockerfile_stages(project)
    [node] = node_stages(stages)
    assert any("npm run build" in instruction for instruction in node["instructions"])
    # node, npm and node_modules stay in their stage: later stages take only the built files.
    copies = [
        instruction.split()
        for stage in stages
        if stage is not node
        for instruction in stage["instructions"]
        if f"--from={node['name']}" in instruction
    ]
    assert copies, "no stage copies the frontend build"
    for copy in copies:
        sources = [word for word in copy[1:-1] if not word.startswith("--")]
        assert all(source.rstrip("/").endswith("/dist") for source in sources), copy
    for stage in stages:
        if stage is not node:
            assert not any(re.search(r"\bnpm\b", i) for i in stage["instructions"]), stage["name"]
    assert "frontend" in compose_services(project)
    assert (
        'STATICFILES_DIRS = [BASE_DIR / "frontend" / "dist"]'
        in (project / "config" / "settings" / "base.py").read_text()
    )


# ---- the frontend really builds, and Django serves the build ---------------------------


def static_names(project: Path) -> set[str]:
    templates = project / project.name / "templates"
    return {match["name"] for path in templates.rglob("*.html") for match in STATIC_TAG.finditer(path.read_text())}


@pytest.mark.slow
def test_npm_build_makes_every_asset_the_templates_load(frontend_build, default_project):
    names = static_names(default_project)

    assert names, "the templates load no static file"
    missing = sorted(name for name in names if not (frontend_build / "dist" / name).is_file())
    assert missing == [], f"built {sorted(p.name for p in (frontend_build / 'dist').iterdir())}"


@pytest.mark.slow
def test_collectstatic_serves_the_frontend_build(frontend_build, default_project, venv_for, tmp_path):
    """As the production image does: the build in frontend/dist, collectstatic with the base
    settings, then the pages' static tags resolve to collected, hashed files."""
    venv = venv_for(default_project)
    project = tmp_path / default_project.name
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns(*NOT_GENERATED))
    shutil.rmtree(project / "frontend" / "dist")
    shutil.copytree(frontend_build / "dist", project / "frontend" / "dist")
    static_root = tmp_path / "staticfiles"
    env = project_environment(
        venv, DJANGO_SETTINGS_MODULE="config.settings.base", STATIC_ROOT=str(static_root), PYTHONWARNINGS="error"
    )

    run(["python", "manage.py", "collectstatic", "--noinput"], cwd=project, env=env)
    page = run(
        [
            "python",
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.template.loader import render_to_string; print(render_to_string('home.html'))",
        ],
        cwd=project,
        env=env,
    ).stdout

    urls = re.findall(r'(?:href|src)="/static/([^"]+)"', page)
    assert len(urls) == len(static_names(default_project)), page
    for url in urls:
        assert (static_root / url).is_file(), url
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", url), f"{url} is not a hashed (manifest) name"


# ---- Celery really runs against Redis --------------------------------------------------


@pytest.mark.services
def test_celery_worker_test_really_runs_against_redis(bake, venv_for):
    """The generated test skips without Redis; in the template suite Redis must answer and the test pass."""
    require_redis()
    project = bake()
    venv = venv_for(project)
    env = project_environment(venv, REQUIRE_SERVICES="1")

    result = run(["bin/run-tests", "-p", "no:cacheprovider", "-v", "-m", "redis"], cwd=project, env=env)

    assert "test_a_worker_runs_the_example_task_through_redis PASSED" in result.stdout
