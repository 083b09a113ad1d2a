"""Projects stay current with cruft: create, check, diff, update, link, in throw-away git repos.

Each test copies the template's working tree into a temporary git repository, generates a
project from it with `cruft create`, commits the project in a repository of its own,
makes the changes a team would make, advances the template and runs `cruft update`.
cruft exits 0 even when an update conflicts, so the tests (like docs/updating.md) look
for *.rej files, conflict markers and unmerged paths in `git status`.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hooks.post_gen_project import PARTS, part_paths
from tests.answers import ALL_OFF, DEFAULTS
from tests.cruft_scenario import (
    NEW_CMD,
    NEW_JOB,
    NEW_SCRIPT,
    NEW_SCRIPT_TEXT,
    SHOP_APP,
    SLUG,
    SLUG_DIR,
    TEAM_ENV,
    TEMPLATE_LINE,
    add_team_env,
    advance_template,
    changed_project_file,
    make_team_changes,
    production_cmd,
    set_setting,
)
from tests.gitlab import check_against_gitlab_schema, pipeline_config
from tests.helpers import run, tool
from tests.template_repo import (
    PROJECT_DIR_NAME,
    Repo,
    TemplateRepo,
    conflicts,
    cruft,
    cruft_create,
    cruft_update,
    generate_project,
    git_environment,
)
from tests.venvs import project_environment


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return git_environment(tmp_path / "home")


@pytest.fixture
def template(tmp_path, env) -> TemplateRepo:
    repo = TemplateRepo.copy_of_working_tree(tmp_path / "template", env)
    repo.commit("The template as it is now")
    return repo


def unmerged(status: list[str]) -> list[str]:
    return [line for line in status if line[:2] in {"UU", "AA", "DD", "AU", "UA", "DU", "UD"}]


def file_modes(project: Path) -> dict[str, int]:
    return {
        path.relative_to(project).as_posix(): stat.S_IMODE(path.lstat().st_mode)
        for path in project.rglob("*")
        if ".git" not in path.relative_to(project).parts
    }


# ---- create ---------------------------------------------------------------------------


def test_cruft_create_records_the_template_and_the_project_keeps_it(template, tmp_path):
    project = generate_project(template, tmp_path / "projects")

    state = json.loads((project.path / ".cruft.json").read_text())
    assert state["template"] == str(template.path)
    assert state["commit"] == template.head()
    assert state["context"]["cookiecutter"]["project_slug"] == SLUG
    # Committed with the project (not ignored), so that every clone can run cruft.
    assert project.git("check-ignore", "--quiet", ".cruft.json", check=False).returncode == 1
    assert ".cruft.json" in project.git("ls-files").stdout.split()
    assert "up to date" in cruft("check", cwd=project.path, env=project.env).stdout


def test_skip_list_is_read_by_cruft_from_pyproject(template, tmp_path):
    project = generate_project(template, tmp_path / "projects")

    skip = skip_list(project.path)

    assert skip, "[tool.cruft] skip is empty"
    for entry in skip:
        assert "{" not in entry
        assert not entry.startswith("/")
    assert f"{SLUG}/*/migrations" in skip
    # The default answers: no cron, a frontend. Only a part that is there has an entry, so
    # that switching a part on later brings its files (see the answer-changing tests below).
    assert (DEFAULTS["use_cron"], DEFAULTS["use_frontend"]) == (False, True)
    assert "frontend/src" in skip
    assert "crontab" not in skip
    # Not the lock files: a template update must bring its new pins.
    assert not [entry for entry in skip if "requirements" in entry or "lock" in entry]


def skip_list(project: Path) -> list[str]:
    return tomllib.loads((project / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]


def test_skip_list_follows_the_answers(bake):
    """Cheap: a plain bake, no cruft. Cron on and frontend off turn the two entries around."""
    skip = skip_list(bake(use_cron=True, use_frontend=False))

    assert "crontab" in skip
    assert "frontend/src" not in skip
    assert f"{SLUG}/*/migrations" in skip


def test_cruft_create_twice_gives_the_same_tree_apart_from_the_commit(template, tmp_path):
    first = generate_project(template, tmp_path / "first").path
    first_commit = template.head()
    # A commit that changes the template repository but not the generated project.
    template.append_line("README.md", "A note on the template itself.")
    second_commit = template.commit("Template README only")
    second = generate_project(template, tmp_path / "second").path

    def normalized(project: Path) -> dict[str, bytes]:
        files = {}
        for path in sorted(project.rglob("*")):
            relative = path.relative_to(project).as_posix()
            if ".git" in path.relative_to(project).parts or not path.is_file():
                continue
            data = path.read_bytes()
            for commit in (first_commit, second_commit):
                data = re.sub(rb"\b" + commit[:7].encode() + rb"[0-9a-f]*\b", b"<commit>", data)
            files[relative] = data
        return files

    assert normalized(first) == normalized(second)
    assert file_modes(first) == file_modes(second)
    states = [json.loads((project / ".cruft.json").read_text()) for project in (first, second)]
    assert [state["commit"] for state in states] == [first_commit, second_commit]


def test_cruft_link_connects_a_plain_cookiecutter_project(template, tmp_path, env):
    """docs/updating.md: a project made with plain cookiecutter, linked to its template commit."""
    generated_from = template.head()
    output = tmp_path / "projects"
    run(
        [
            tool("cookiecutter"),
            "--no-input",
            "--output-dir",
            output,
            template.path,
            "project_name=Linked Shop",
            "use_celery=no",
        ],
        cwd=tmp_path,
        env=env,
    )
    project = Repo(output / "linked_shop", env).init()
    project.commit("Generated with cookiecutter")
    template.append_line(template.project_file(changed_project_file(template)), TEMPLATE_LINE)
    template.commit("A later template version")

    answers = {"project_name": "Linked Shop", "use_celery": False}
    cruft(
        "link",
        "--no-input",
        "--checkout",
        generated_from,
        "--extra-context",
        json.dumps(answers),
        template.path,
        cwd=project.path,
        env=env,
    )

    assert json.loads((project.path / ".cruft.json").read_text())["commit"] == generated_from
    # Linked to the right commit with the right answers: no difference at all.
    diff = cruft("diff", "--exit-code", cwd=project.path, env=env, check=False)
    assert (diff.returncode, diff.stdout.strip()) == (0, "")
    project.commit("Linked to the template with cruft")
    assert cruft_update(project)[0] == 0
    assert conflicts(project.path) == []
    assert (project.path / changed_project_file(template)).read_text().endswith(TEMPLATE_LINE + "\n")


# ---- update without conflicts -----------------------------------------------------------


@dataclass
class Updated:
    project: Repo
    template: TemplateRepo
    changes: dict[str, str]
    before: dict[str, bytes]
    check_before: int
    check_after: int
    update_output: str
    diff_after: str


@pytest.fixture(scope="module")
def updated(tmp_path_factory) -> Updated:
    """A project with a team's changes, updated to a later template version."""
    root = tmp_path_factory.mktemp("cruft-update")
    env = git_environment(root / "home")
    template = TemplateRepo.copy_of_working_tree(root / "template", env)
    template.commit("The template as it is now")
    project = generate_project(template, root / "projects")
    make_team_changes(project)
    project.edit("Dockerfile", add_team_env)
    project.commit("Our shop app, in Dutch, priced in euros")
    before = {
        path.relative_to(project.path).as_posix(): path.read_bytes()
        for path in project.path.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project.path).parts
    }
    changes = advance_template(template)

    check_before = cruft("check", cwd=project.path, env=env, check=False).returncode
    returncode, output = cruft_update(project)
    assert returncode == 0, output
    check_after = cruft("check", cwd=project.path, env=env, check=False).returncode
    project.commit("Template update")  # what the team does after reviewing it
    diff_after = cruft("diff", cwd=project.path, env=env, check=False).stdout
    return Updated(project, template, changes, before, check_before, check_after, output, diff_after)


def test_cruft_check_fails_until_the_update(updated):
    assert updated.check_before == 1
    assert updated.check_after == 0
    assert json.loads((updated.project.path / ".cruft.json").read_text())["commit"] == updated.template.head()


def test_update_applies_the_template_changes(updated):
    project = updated.project.path
    for key in ("same_file", "template_app"):
        assert (project / updated.changes[key]).read_text().endswith(TEMPLATE_LINE + "\n"), key
    script = project / NEW_SCRIPT
    assert script.read_text() == NEW_SCRIPT_TEXT.replace("{{ cookiecutter.project_name }}", "My Project")
    assert script.stat().st_mode & stat.S_IXUSR, "the new script lost its executable bit"


def test_update_merges_the_template_dockerfile_change_next_to_the_teams(updated):
    """The template changed the production CMD, the team added an ENV line just above it."""
    dockerfile = (updated.project.path / "Dockerfile").read_text()
    teams = updated.before["Dockerfile"].decode()
    old_cmd = updated.changes["old_cmd"] + "\n"
    assert teams.count(old_cmd) == 1
    # Exactly the team's Dockerfile with the template's one line changed: both edits, merged.
    assert dockerfile == teams.replace(old_cmd, NEW_CMD + "\n")
    lines = dockerfile.splitlines()
    assert lines[production_cmd(lines)] == NEW_CMD
    assert TEAM_ENV in lines[production_cmd(lines) - 4 : production_cmd(lines)]


def test_update_adds_the_new_pipeline_job(updated):
    project = updated.project.path
    config = pipeline_config(project)
    job = config.get(NEW_JOB)
    assert job, f"the template's new {NEW_JOB} job did not arrive"
    assert job["stage"] == "test"
    assert "test" in config["stages"]
    assert [need["job"] for need in job["needs"]] == ["build"]
    assert "build" in config
    assert job["rules"]
    assert job["script"] == [NEW_SCRIPT]
    assert (project / NEW_SCRIPT).exists()
    # Nothing else in the pipeline changed.
    before = yaml.safe_load(updated.before[".gitlab-ci.yml"])
    assert {name: value for name, value in config.items() if name != NEW_JOB} == before
    check_against_gitlab_schema(project)


def test_update_keeps_the_teams_changes(updated):
    project = updated.project.path
    for relative, text in SHOP_APP.items():
        assert (project / relative).read_text() == text
    settings = (project / "config/settings/base.py").read_text()
    assert 'LANGUAGE_CODE = "nl-nl"\n' in settings
    assert f'    "{SLUG}.shop",\n' in settings
    assert TEAM_ENV + "\n" in (project / "Dockerfile").read_text()


def test_update_leaves_no_conflicts(updated):
    assert conflicts(updated.project.path) == []
    assert unmerged(updated.project.status()) == []


def test_update_leaves_the_files_the_project_owns_alone(updated):
    """[tool.cruft] skip in pyproject.toml: frontend sources and migrations are the project's."""
    project = updated.project.path
    for key in ("frontend", "migrations"):
        relative = updated.changes[key]
        assert (project / relative).read_bytes() == updated.before[relative], relative


def test_cruft_diff_shows_the_local_changes(updated):
    assert '"nl-nl"' in updated.diff_after
    assert f"{SLUG}.shop" in updated.diff_after  # the INSTALLED_APPS line
    assert "shop/models.py" not in updated.diff_after  # files the template lacks are not compared
    assert TEMPLATE_LINE not in updated.diff_after  # the update is in: nothing left to take
    assert f"-{TEAM_ENV}\n" in updated.diff_after  # the team's Dockerfile line ...
    assert not re.search(r"^[-+]CMD", updated.diff_after, flags=re.MULTILINE)  # ... but not the CMD
    changed = re.findall(r"^\+\+\+ upstream-template-new/(\S+)$", updated.diff_after, flags=re.MULTILINE)
    assert sorted(changed) == ["Dockerfile", "config/settings/base.py"], updated.diff_after


@pytest.mark.slow
def test_the_updated_project_passes_its_own_tests(updated, venv_for):
    project = updated.project.path
    venv = venv_for(project, DEFAULTS["python_version"])
    env = project_environment(venv)

    result = run(["bin/run-tests", "-p", "no:cacheprovider", "-v"], cwd=project, env=env)

    assert "test_products_are_stored PASSED" in result.stdout
    assert " passed" in result.stdout.splitlines()[-1]


# ---- update with a conflict ---------------------------------------------------------------


@pytest.mark.parametrize("history", ["committed-as-generated", "edited-before-the-first-commit"])
def test_a_conflicting_update_is_reported_and_nothing_is_lost(template, tmp_path, history):
    """Template and team change the same line: cruft exits 0, so look for the conflict.

    With the generated files in the project's history, git merges three ways and leaves
    conflict markers and an unmerged path; without them (the team edited before its first
    commit), cruft falls back to `git apply --reject` and leaves a .rej file.
    """
    project = Repo(cruft_create(template, tmp_path / "projects"), template.env).init()
    if history == "committed-as-generated":
        project.commit("Generated from the template")
    project.edit("config/settings/base.py", lambda text: set_setting(text, "LANGUAGE_CODE", '"nl-nl"'))
    project.commit("In Dutch")
    changed = changed_project_file(template)
    template.append_line(template.project_file(changed), TEMPLATE_LINE)
    template.edit(
        template.project_file("config/settings/base.py"),
        lambda text: set_setting(text, "LANGUAGE_CODE", '"en-gb"'),
    )
    template.commit("British English")

    returncode, _ = cruft_update(project)

    assert returncode == 0, "cruft now fails on conflicts: update docs/updating.md"
    found = conflicts(project.path)
    status = project.status()
    settings = (project.path / "config/settings/base.py").read_text()
    assert '"nl-nl"' in settings  # the team's line is kept ...
    if history == "committed-as-generated":
        assert found == ["config/settings/base.py"]
        assert unmerged(status) == ["UU config/settings/base.py"]
        assert '"en-gb"' in settings  # ... next to the template's, between the markers
    else:
        assert found == ["config/settings/base.py.rej"]
        assert "?? config/settings/base.py.rej" in status
        assert '"en-gb"' in (project.path / "config/settings/base.py.rej").read_text()
    # The rest of the update is applied all the same.
    assert (project.path / changed).read_text().endswith(TEMPLATE_LINE + "\n")
    assert json.loads((project.path / ".cruft.json").read_text())["commit"] == template.head()


# ---- hooks under cruft update ---------------------------------------------------------------


def test_update_of_a_project_with_every_option_off_keeps_the_pruned_parts_out(template, tmp_path):
    """cruft re-runs the hooks on fresh renders; pruned files stay gone from the project."""
    project = generate_project(template, tmp_path / "projects", **ALL_OFF)
    parts = [template.path / template.project_file(path) for part in PARTS for path in part_paths(part, SLUG_DIR)]
    files = sorted({file for path in parts for file in [path, *path.rglob("*")] if file.is_file()})
    pruned = [file.relative_to(template.path / PROJECT_DIR_NAME).as_posix() for file in files]
    assert pruned, "nothing left to prune: update this test"
    for relative in pruned:
        assert not (project.path / relative.replace(SLUG_DIR, SLUG)).exists()
        template.append_line(template.project_file(relative), "# changed by a later template version")
    changed = changed_project_file(template)
    template.append_line(template.project_file(changed), TEMPLATE_LINE)
    template.commit("A later template version, changing optional parts too")

    returncode, output = cruft_update(project)

    assert returncode == 0, output
    assert conflicts(project.path) == []
    for relative in pruned:
        assert not (project.path / relative.replace(SLUG_DIR, SLUG)).exists(), relative
    assert not (project.path / "frontend").exists()
    assert (project.path / changed).read_text().endswith(TEMPLATE_LINE + "\n")
    assert sorted(line[3:] for line in project.status()) == sorted([".cruft.json", changed])


# ---- changing an answer later ----------------------------------------------------------------


def update_with(project: Repo, answers: dict) -> tuple[int, str]:
    returncode, output = cruft_update(project, "--variables-to-update", json.dumps(answers))
    assert json.loads((project.path / ".cruft.json").read_text())["context"]["cookiecutter"].items() >= answers.items()
    return returncode, output


# What switching a part on later brings, and its own entry in the skip list.
SWITCHED_ON_LATER = {
    "use_cron": (["crontab", "tests/test_crontab.py"], "crontab"),
    "use_frontend": (["frontend/package.json", "frontend/package-lock.json", "frontend/src/main.js"], "frontend/src"),
}


@pytest.mark.parametrize("option", sorted(SWITCHED_ON_LATER))
def test_switching_a_part_on_later_brings_its_files_and_its_skip_entry(template, tmp_path, option):
    """docs/updating.md: `cruft update --variables-to-update` with a part switched on.

    The project's skip list has no entry for a part it does not have, so the update adds
    the part's files, its own-once-generated ones (crontab, frontend/src) included, and
    the skip entry with them; from then on later template changes leave those alone.
    """
    files, entry = SWITCHED_ON_LATER[option]
    project = generate_project(template, tmp_path / "projects", **{**DEFAULTS, option: False})
    make_team_changes(project)
    project.commit("Our shop app, in Dutch")
    assert entry not in skip_list(project.path)
    assert not [relative for relative in files if (project.path / relative).exists()]

    returncode, output = update_with(project, {option: True})

    assert returncode == 0, output
    assert "Traceback" not in output, output
    assert conflicts(project.path) == []
    assert unmerged(project.status()) == []
    for relative in files:
        assert (project.path / relative).read_text().strip(), f"{relative} is missing or empty"
    assert entry in skip_list(project.path)
    assert 'LANGUAGE_CODE = "nl-nl"\n' in (project.path / "config/settings/base.py").read_text()
    project.commit(f"Switch {option} on")
    # Everything else the part needs came along too: the project is the template with the
    # new answer, apart from the team's own changes.
    diff = cruft("diff", cwd=project.path, env=project.env, check=False).stdout
    assert re.findall(r"^\+\+\+ upstream-template-new/(\S+)$", diff, flags=re.MULTILINE) == [
        "config/settings/base.py"
    ], diff

    # The part's skipped path is the project's own from now on.
    owned = next(relative for relative in files if relative.startswith(entry))
    original = (project.path / owned).read_bytes()
    template.append_line(template.project_file(owned), "# changed by a later template version")
    template.commit("A later template version, changing the part's own file")
    returncode, output = cruft_update(project)
    assert returncode == 0, output
    assert (project.path / owned).read_bytes() == original


@pytest.mark.parametrize("option", sorted(SWITCHED_ON_LATER))
def test_switching_a_part_off_later_leaves_only_its_skipped_files(template, tmp_path, option):
    """docs/updating.md: the update removes a part's files, but not the skipped ones: the team deletes those."""
    files, entry = SWITCHED_ON_LATER[option]
    project = generate_project(template, tmp_path / "projects", **{**DEFAULTS, option: True})
    assert entry in skip_list(project.path)

    returncode, output = update_with(project, {option: False})

    assert returncode == 0, output
    assert conflicts(project.path) == []
    assert unmerged(project.status()) == []
    assert entry not in skip_list(project.path)
    left = [relative for relative in files if (project.path / relative).exists()]
    assert left == [relative for relative in files if relative.startswith(entry)]


# ---- a new question --------------------------------------------------------------------------


def without_deploy_target(template: TemplateRepo) -> None:
    """Turn the template back into what it was before the deploy_target question: no question,
    no rule, no Kubernetes files, and every condition on the answer false."""
    questions = json.loads((template.path / "cookiecutter.json").read_text())
    del questions["deploy_target"], questions["__prompts__"]["deploy_target"]
    (template.path / "cookiecutter.json").write_text(json.dumps(questions, indent=2) + "\n")
    for hook, line in [("pre_gen_project.py", '"deploy_target":'), ("post_gen_project.py", '("deploy_target",')]:
        path = template.path / "hooks" / hook
        path.write_text("".join(kept for kept in path.read_text().splitlines(True) if line not in kept))
    template.git("rm", "-r", "-q", template.project_file("deploy"), template.project_file("docs/kubernetes.md"))
    for path in (template.path / PROJECT_DIR_NAME).rglob("*"):
        if path.is_file() and "cookiecutter.deploy_target" in path.read_text():
            text = path.read_text().replace('cookiecutter.deploy_target == "kubernetes"', "false")
            path.write_text(text.replace('cookiecutter.deploy_target == "webhook"', "true"))
            assert "cookiecutter.deploy_target" not in path.read_text(), path


def test_a_project_from_before_a_new_question_takes_its_default_and_keeps_its_webhook(template, tmp_path):
    """README: a new question takes its default for existing projects on `cruft update`."""
    without_deploy_target(template)
    template.commit("The template before deploy_target")
    project = generate_project(template, tmp_path / "projects")
    assert "deploy_target" not in json.loads((project.path / ".cruft.json").read_text())["context"]["cookiecutter"]
    deploy_script = (project.path / "ci" / "deploy").read_text()
    template.git("revert", "--no-edit", "HEAD")

    returncode, output = cruft_update(project)

    assert returncode == 0, output
    assert conflicts(project.path) == []
    assert (
        json.loads((project.path / ".cruft.json").read_text())["context"]["cookiecutter"]["deploy_target"] == "webhook"
    )
    assert (project.path / "ci" / "deploy").read_text() == deploy_script
    assert 'REQUIRED="DEPLOY_WEBHOOK_URL"' in deploy_script
    assert not (project.path / "deploy").exists()
    assert not (project.path / "docs" / "kubernetes.md").exists()
    assert [line[3:] for line in project.status()] == [".cruft.json"]


def test_moving_to_kubernetes_later_brings_the_manifests_and_the_kubernetes_deploy(template, tmp_path):
    """docs/updating.md: `--variables-to-update '{"deploy_target": "kubernetes"}'`."""
    project = generate_project(template, tmp_path / "projects", **ALL_OFF)

    returncode, output = update_with(project, {"deploy_target": "kubernetes"})

    assert returncode == 0, output
    assert conflicts(project.path) == []
    assert unmerged(project.status()) == []
    assert (project.path / "deploy" / "overlays" / "production" / "kustomization.yaml").is_file()
    assert (project.path / "docs" / "kubernetes.md").is_file()
    assert "kubectl rollout undo" in (project.path / "ci" / "deploy").read_text()
    assert not (project.path / "deploy" / "base" / "worker.yaml").exists(), "Celery is still off"
    assert os.access(project.path / "ci" / "deploy", os.X_OK)
