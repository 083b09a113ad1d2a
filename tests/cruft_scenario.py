"""The story the cruft tests tell: a team's changes to its project, and a later template version.

The data lives in files under tests/scenarios/cruft/: the team's own app (shop-app/, with its
tests) and what the later template adds (a script and a pipeline job). The functions below
make the edits, each checking that the file still looks the way the edit expects, so that a
template change that breaks the story fails with a message saying what to update.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.template_repo import PROJECT_DIR_NAME, Repo, TemplateRepo

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "cruft"
SLUG = "my_project"  # the slug the default project name gives
SLUG_DIR = "{{cookiecutter.project_slug}}"  # the package directory, inside the template's project directory

# A team's own app: new files the template knows nothing about (project path -> text).
SHOP_APP = {
    path.relative_to(SCENARIO / "shop-app").as_posix(): path.read_text()
    for path in sorted((SCENARIO / "shop-app").rglob("*"))
    if path.is_file()
}
TEMPLATE_LINE = "# A line a later template version added."
# A later template version adds a script and a pipeline job that runs it, changes the
# production image's command (an instruction, not a comment); the team adds an ENV line just
# above that command.
NEW_SCRIPT = "ci/smoke-test"
NEW_SCRIPT_TEXT = (SCENARIO / "smoke-test").read_text()
NEW_JOB = "smoke-test"
NEW_JOB_TEXT = (SCENARIO / "smoke-test-job.yml").read_text()
NEW_CMD = 'CMD ["gunicorn", "config.wsgi:application"]'
TEAM_ENV = "ENV SHOP_CURRENCY=EUR"


def set_setting(text: str, name: str, value: str) -> str:
    """Replace the one line `NAME = ...` of a settings module."""
    changed, count = re.subn(rf"^{name} = .*$", f"{name} = {value}", text, flags=re.MULTILINE)
    assert count == 1, f"expected one `{name} = ...` line in the settings, found {count}"
    return changed


def install_app(text: str) -> str:
    core = f'    "{SLUG}.core",\n'
    assert core in text, "INSTALLED_APPS no longer lists the core app as expected"
    return text.replace(core, core + f'    "{SLUG}.shop",\n')


def make_team_changes(project: Repo) -> None:
    """What a team does soon after generating: an app of its own, and a setting of its own."""
    for relative, text in SHOP_APP.items():
        project.write(relative, text)
    project.edit("config/settings/base.py", install_app)
    project.edit("config/settings/base.py", lambda text: set_setting(text, "LANGUAGE_CODE", '"nl-nl"'))


def changed_project_file(template: TemplateRepo) -> str:
    """The file the template's update changes: the Dockerfile, or a settings file before it exists."""
    for candidate in ("Dockerfile", "config/settings/production.py"):
        if template.has_project_file(candidate):
            return candidate
    raise AssertionError("the template has neither a Dockerfile nor config/settings/production.py")


def frontend_source(template: TemplateRepo) -> str:
    sources = sorted((template.path / template.project_file("frontend/src")).glob("*"))
    assert sources, "the template has no frontend/src files"
    return sources[0].relative_to(template.path / PROJECT_DIR_NAME).as_posix()


def production_cmd(lines: list[str]) -> int:
    """The index of the gunicorn CMD line of the Dockerfile's production stage (template or project)."""
    stages = [index for index, line in enumerate(lines) if re.match(r"FROM\s", line)]
    production = [index for index in stages if re.match(r"FROM\s.*\sAS\s+production\s*$", lines[index], re.I)]
    assert len(production) == 1, f"expected one `FROM ... AS production` line in the Dockerfile: {len(production)}"
    end = next((index for index in stages if index > production[0]), len(lines))
    commands = [index for index in range(production[0], end) if re.match(r"CMD\s", lines[index])]
    found = [lines[index].strip() for index in commands]
    assert len(commands) == 1, f"expected one CMD line in the Dockerfile's production stage, found {found}"
    assert "gunicorn" in found[0], f"the production CMD no longer runs gunicorn ({found[0]}): update NEW_CMD"
    return commands[0]


def change_production_cmd(text: str) -> str:
    """The template's change: a real instruction, the production image's command."""
    lines = text.splitlines(keepends=True)
    index = production_cmd(lines)
    assert lines[index].rstrip("\n") != NEW_CMD, "the template already has the later CMD: pick another"
    lines[index] = NEW_CMD + "\n"
    return "".join(lines)


def add_team_env(text: str) -> str:
    """The team's change: an ENV line of its own in the production stage, just above the CMD.

    Above the CMD's comment (or, without one, above the instruction before it): at least one
    untouched line in between, since git takes edits on adjacent lines for a conflict, and
    at most three, inside the template patch's context, so that `git apply` cannot apply it
    as it is and cruft's three-way merge has to merge the two edits.
    """
    lines = text.splitlines(keepends=True)
    cmd = production_cmd(lines)
    at = cmd
    while lines[at - 1].lstrip().startswith("#"):
        at -= 1
    if at == cmd:  # no comment: go above the previous instruction, continuation lines included
        at -= 1
        while lines[at - 1].rstrip("\n").endswith("\\"):
            at -= 1
    message = f"no place for the team's ENV line above line {at + 1} of the Dockerfile: update add_team_env"
    assert not lines[at - 1].rstrip("\n").endswith("\\"), message
    assert not lines[at - 1].startswith("FROM"), message
    assert 1 <= cmd - at <= 3, (
        f"the team's ENV line would be {cmd - at} lines above the production CMD; the test needs 1 to 3 "
        "(not adjacent, but inside the patch's context): update add_team_env"
    )
    lines.insert(at, TEAM_ENV + "\n")
    return "".join(lines)


def add_ci_job(text: str) -> str:
    assert not re.search(rf"^{NEW_JOB}:", text, flags=re.MULTILINE), f"the pipeline already has a {NEW_JOB} job"
    return text + ("" if text.endswith("\n") else "\n") + NEW_JOB_TEXT


def advance_template(template: TemplateRepo) -> dict[str, str]:
    """A later template version; returns what changed where, as project paths."""
    assert template.has_project_file("Dockerfile"), "the template has no Dockerfile: update advance_template"
    dockerfile = template.project_file("Dockerfile")
    lines = (template.path / dockerfile).read_text().splitlines()
    changes = {
        "dockerfile": "Dockerfile",
        "old_cmd": lines[production_cmd(lines)],
        "pipeline": ".gitlab-ci.yml",
        "same_file": "config/settings/base.py",
        "template_app": f"{SLUG}/core/apps.py",
        "frontend": frontend_source(template),
        "migrations": f"{SLUG}/core/migrations/__init__.py",
    }
    assert "{" not in changes["old_cmd"], "the production CMD line has Jinja in it: pick another line"
    template.edit(dockerfile, change_production_cmd)
    template.edit(template.project_file(changes["pipeline"]), add_ci_job)
    template.append_line(template.project_file(changes["same_file"]), TEMPLATE_LINE)
    template.append_line(template.project_file(f"{SLUG_DIR}/core/apps.py"), TEMPLATE_LINE)
    template.append_line(template.project_file(f"{SLUG_DIR}/core/migrations/__init__.py"), TEMPLATE_LINE)
    template.append_line(template.project_file(changes["frontend"]), "// A later template's example code.")
    assert not template.has_project_file(NEW_SCRIPT)
    template.write(template.project_file(NEW_SCRIPT), NEW_SCRIPT_TEXT, mode=0o755)
    template.commit("A later template version")
    return changes
