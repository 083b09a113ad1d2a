"""bin/setup-gitlab, the real python-gitlab client from the project's tools lock, against a
local GitLab stand-in that keeps state (tests/fake_gitlab.py, for machines where no GitLab server can run).

The first run creates everything .gitlab/settings.toml declares, with the exact request
bodies; the second run and --dry-run write nothing; each error ends with one line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.answers import DEFAULTS
from tests.fake_gitlab import MAINTAINER, FakeGitLab, serving
from tests.gitlab import GIT_ENV, git
from tests.gitlab import gitlab_settings as settings
from tests.helpers import run
from tests.venvs import TOOLS_REQUIREMENTS, project_venv

PROJECT_PATH = "agency/my-project"
ACCEPTANCE_URL = "https://hooks.example.com/deploy/acceptance"
PRODUCTION_URL = "https://hooks.example.com/deploy/production"
ACCEPTANCE_TOKEN = "acceptance-webhook-token"


@pytest.fixture(scope="module")
def tools_python(default_project) -> Path:
    return project_venv(default_project, DEFAULTS["python_version"], TOOLS_REQUIREMENTS) / "bin" / "python"


@pytest.fixture
def fake() -> FakeGitLab:
    return FakeGitLab(path=PROJECT_PATH)


@pytest.fixture
def gitlab_url(fake):
    with serving(fake) as url:
        yield url


@pytest.fixture
def repo(default_project, tmp_path, gitlab_url) -> Path:
    """The project as a git repository whose origin is the fake GitLab's project (https form)."""
    repo = tmp_path / "my_project"
    shutil.copytree(default_project, repo)
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "remote", "add", "origin", f"{gitlab_url}/{PROJECT_PATH}.git")
    return repo


@pytest.fixture
def values(tmp_path) -> dict[str, str]:
    """The variables' values as a caller gives them: from the environment, and from a file."""
    production_url = tmp_path / "production-webhook-url"
    production_url.write_text(PRODUCTION_URL + "\n")
    return {
        "ACCEPTANCE_DEPLOY_WEBHOOK_URL": ACCEPTANCE_URL,
        "PRODUCTION_DEPLOY_WEBHOOK_URL_FILE": str(production_url),
        "ACCEPTANCE_DEPLOY_WEBHOOK_TOKEN": ACCEPTANCE_TOKEN,
    }


def setup_gitlab(python: Path, repo: Path, *args: str, token: str | None = "maintainer-token", **env: str):
    """Run bin/setup-gitlab with a clean GitLab environment: only the token and values given."""
    clean = dict.fromkeys(["GITLAB_TOKEN", "GITLAB_TOKEN_FILE"], "")
    clean |= {**GIT_ENV, "GITLAB_TOKEN": token or "", **env}
    return run([python, "bin/setup-gitlab", *args], cwd=repo, env=clean, check=False, timeout=120)


def one_line(result) -> str:
    """The error of a failed run: exactly one line on stderr, no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def levels(entries: list[dict]) -> set[int]:
    return {entry["access_level"] for entry in entries}


# ---- the first run creates everything; the second and a dry run write nothing --------


def test_first_run_creates_everything_with_the_exact_requests(tools_python, repo, fake, values):
    result = setup_gitlab(tools_python, repo, **values)

    assert result.returncode == 0, result.stderr
    declared = settings(repo)
    policy = declared["registry_cleanup"]
    [weekly] = declared["schedules"]
    assert weekly["cron"] == "0 5 * * 1"
    webhook = "Where ci/deploy POSTs the deploy."
    bearer = "Sent by ci/deploy in the Authorization header (Bearer)."
    variable = {"variable_type": "env_var", "masked": True, "protected": True}
    base = f"/api/v4/projects/{fake.project['id']}"
    assert [(w.method, w.path, w.query, w.body) for w in fake.writes] == [
        # GitLab protected main when it made the project (merge by maintainers): replaced.
        ("DELETE", f"{base}/protected_branches/main", {}, None),
        ("POST", f"{base}/protected_branches", {}, {"name": "main", "merge_access_level": 30, "push_access_level": 40}),
        ("POST", f"{base}/protected_tags", {}, {"name": "*.*.*", "create_access_level": 40}),
        ("POST", f"{base}/environments", {}, {"name": "acceptance"}),
        ("POST", f"{base}/environments", {}, {"name": "production"}),
        (
            "POST",
            f"{base}/protected_environments",
            {},
            {"name": "production", "deploy_access_levels": [{"access_level": 40}]},
        ),
        (
            "POST",
            f"{base}/variables",
            {},
            {
                "key": "DEPLOY_WEBHOOK_URL",
                "value": ACCEPTANCE_URL,
                **variable,
                "environment_scope": "acceptance",
                "description": webhook,
            },
        ),
        (
            "POST",
            f"{base}/variables",
            {},
            {
                "key": "DEPLOY_WEBHOOK_URL",
                "value": PRODUCTION_URL,
                **variable,
                "environment_scope": "production",
                "description": webhook,
            },
        ),
        (
            "POST",
            f"{base}/variables",
            {},
            {
                "key": "DEPLOY_WEBHOOK_TOKEN",
                "value": ACCEPTANCE_TOKEN,
                **variable,
                "environment_scope": "acceptance",
                "description": bearer,
            },
        ),
        ("PUT", base, {}, {"only_allow_merge_if_pipeline_succeeds": True}),
        ("PUT", base, {}, {"container_expiration_policy_attributes": policy}),
        # The weekly schedule: audit, template drift, a build and test on the newest base.
        ("POST", f"{base}/pipeline_schedules", {}, {"ref": "main", **weekly}),
    ]
    # And the fake's state is what GitLab would then hold.
    main = fake.protected_branches["main"]
    assert (levels(main["push_access_levels"]), levels(main["merge_access_levels"])) == ({40}, {30})
    assert {name: levels(tag["create_access_levels"]) for name, tag in fake.protected_tags.items()} == {"*.*.*": {40}}
    assert set(fake.environments) == {"acceptance", "production"}
    assert {name: levels(p["deploy_access_levels"]) for name, p in fake.protected_environments.items()} == {
        "production": {MAINTAINER}
    }
    assert {identity: v["value"] for identity, v in fake.variables.items()} == {
        ("DEPLOY_WEBHOOK_URL", "acceptance"): ACCEPTANCE_URL,
        ("DEPLOY_WEBHOOK_URL", "production"): PRODUCTION_URL,
        ("DEPLOY_WEBHOOK_TOKEN", "acceptance"): ACCEPTANCE_TOKEN,
    }
    assert fake.project["only_allow_merge_if_pipeline_succeeds"] is True
    assert {key: fake.project["container_expiration_policy"][key] for key in policy} == policy
    assert [(s["description"], s["cron"]) for s in fake.pipeline_schedules.values()] == [
        (weekly["description"], "0 5 * * 1")
    ]
    assert result.stdout.splitlines()[-1] == "Done: 11 change(s)."


def test_second_run_changes_nothing_and_says_so(tools_python, repo, fake, values):
    assert setup_gitlab(tools_python, repo, **values).returncode == 0
    writes = len(fake.writes)

    again = setup_gitlab(tools_python, repo, **values)

    assert again.returncode == 0, again.stderr
    assert len(fake.writes) == writes
    assert again.stdout.splitlines()[-1] == "Nothing to change."
    assert again.stdout.splitlines()[0].endswith(": no changes to match .gitlab/settings.toml")


def test_second_run_without_the_values_keeps_them(tools_python, repo, fake, values):
    assert setup_gitlab(tools_python, repo, **values).returncode == 0
    writes = len(fake.writes)

    again = setup_gitlab(tools_python, repo)

    assert again.returncode == 0, again.stderr
    assert len(fake.writes) == writes
    assert fake.variables[("DEPLOY_WEBHOOK_URL", "acceptance")]["value"] == ACCEPTANCE_URL


def test_a_changed_value_is_updated_in_its_scope_only(tools_python, repo, fake, values):
    assert setup_gitlab(tools_python, repo, **values).returncode == 0
    writes = len(fake.writes)
    new_url = "https://hooks.example.com/deploy/acceptance-2"

    result = setup_gitlab(tools_python, repo, **{**values, "ACCEPTANCE_DEPLOY_WEBHOOK_URL": new_url})

    assert result.returncode == 0, result.stderr
    [update] = fake.writes[writes:]
    assert (update.method, update.path.rsplit("/", 2)[1:]) == ("PUT", ["variables", "DEPLOY_WEBHOOK_URL"])
    assert update.query == {"filter[environment_scope]": "acceptance"}
    assert fake.variables[("DEPLOY_WEBHOOK_URL", "acceptance")]["value"] == new_url
    assert fake.variables[("DEPLOY_WEBHOOK_URL", "production")]["value"] == PRODUCTION_URL


def test_dry_run_prints_the_plan_and_writes_nothing(tools_python, repo, fake, values):
    result = setup_gitlab(tools_python, repo, "--dry-run", **values)

    assert result.returncode == 0, result.stderr
    assert fake.writes == []
    planned = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("would ")]
    assert len(planned) == 11, result.stdout
    assert "would re-protect branch main: push by maintainers, merge by developers" in planned
    assert result.stdout.splitlines()[-1] == "Dry run: nothing was written."


def test_a_required_variable_without_a_value_is_named_and_left_out(tools_python, repo, fake):
    result = setup_gitlab(tools_python, repo)

    assert result.returncode == 0, result.stderr
    assert fake.variables == {}
    notes = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("note:")]
    assert notes == [
        "note: variable DEPLOY_WEBHOOK_URL (scope acceptance) is not set: give it as ACCEPTANCE_DEPLOY_WEBHOOK_URL "
        "or ACCEPTANCE_DEPLOY_WEBHOOK_URL_FILE and run again",
        "note: variable DEPLOY_WEBHOOK_URL (scope production) is not set: give it as PRODUCTION_DEPLOY_WEBHOOK_URL "
        "or PRODUCTION_DEPLOY_WEBHOOK_URL_FILE and run again",
    ]


def test_without_premium_production_is_left_unprotected_and_said_so(tools_python, repo, fake, values):
    fake.premium = False

    result = setup_gitlab(tools_python, repo, **values)

    assert result.returncode == 0, result.stderr
    assert fake.protected_environments == {}
    assert set(fake.environments) == {"acceptance", "production"}
    assert "note: environment production is not protected: this GitLab has no protected environments (Premium)" in (
        result.stdout
    )


def test_a_declared_schedule_is_updated_when_it_changes(tools_python, repo, fake, values):
    """A schedule is one line in the settings; the shipped weekly one, moved an hour."""
    path = repo / ".gitlab" / "settings.toml"
    assert setup_gitlab(tools_python, repo, **values).returncode == 0
    writes = len(fake.writes)
    path.write_text(path.read_text().replace('cron = "0 5 * * 1"', 'cron = "0 6 * * 1"'))

    assert setup_gitlab(tools_python, repo, **values).returncode == 0

    [update] = fake.writes[writes:]
    assert (update.method, update.path.rsplit("/", 2)[1:]) == ("PUT", ["pipeline_schedules", "1"])
    assert [s["cron"] for s in fake.pipeline_schedules.values()] == ["0 6 * * 1"]


# ---- each error ends with one line -----------------------------------------------------


def test_no_token_names_the_variables(tools_python, repo, fake):
    line = one_line(setup_gitlab(tools_python, repo, token=None))

    assert line.startswith("bin/setup-gitlab: no token: set GITLAB_TOKEN, or GITLAB_TOKEN_FILE")
    assert fake.requests == []


def test_a_missing_token_file_is_named(tools_python, repo, fake, tmp_path):
    missing = tmp_path / "no-such-token"

    line = one_line(setup_gitlab(tools_python, repo, token=None, GITLAB_TOKEN_FILE=str(missing)))

    assert line == f"bin/setup-gitlab: GITLAB_TOKEN_FILE={missing} cannot be read: No such file or directory"


def test_a_token_from_a_file_works(tools_python, repo, fake, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("maintainer-token\n")

    result = setup_gitlab(tools_python, repo, "--dry-run", token=None, GITLAB_TOKEN_FILE=str(token_file))

    assert result.returncode == 0, result.stderr
    assert {request.path for request in fake.requests} >= {f"/api/v4/projects/{PROJECT_PATH}"}


def test_a_refused_token_401_says_so(tools_python, repo, fake):
    line = one_line(setup_gitlab(tools_python, repo, token="revoked-token"))

    assert line == (
        "bin/setup-gitlab: GitLab refused the token (401): GITLAB_TOKEN (or GITLAB_TOKEN_FILE) is wrong, "
        "expired or revoked"
    )


@pytest.mark.parametrize("token", ["developer-token", "read-api-token"])
def test_a_token_without_the_permission_403_names_it(tools_python, repo, fake, values, token):
    """A Developer's token fails on reading the protections; a read_api token on the first write."""
    line = one_line(setup_gitlab(tools_python, repo, token=token, **values))

    needs = f"GitLab forbade it (403): the token needs the `api` scope and the Maintainer role on {PROJECT_PATH}"
    assert line.startswith(f"bin/setup-gitlab: {needs}")
    assert fake.writes[1:] == []


def test_an_unknown_project_404_says_so(tools_python, repo, fake, gitlab_url):
    line = one_line(setup_gitlab(tools_python, repo, "--project", "agency/other"))

    assert line == (
        f"bin/setup-gitlab: project agency/other not found on {gitlab_url} (or the token cannot see it): "
        "check --project or origin"
    )


def test_a_failure_halfway_says_what_was_done_and_what_was_not(tools_python, repo, fake, values):
    fake.fail_on = ("POST", "variables")

    line = one_line(setup_gitlab(tools_python, repo, **values))

    reason, done, not_done = line.split("; done: ")[0], *line.split("; done: ")[1].split("; not done: ")
    assert reason == (
        "bin/setup-gitlab: GitLab answered 500: 500 Internal Server Error, while trying to "
        "create variable DEPLOY_WEBHOOK_URL (scope acceptance)"
    )
    assert done.split("; ") == [
        "re-protect branch main: push by maintainers, merge by developers",
        "protect tags *.*.*: created by maintainers",
        "create environment acceptance",
        "create environment production",
        "protect environment production: deployed by maintainers",
    ]
    assert not_done.split("; ")[0] == "create variable DEPLOY_WEBHOOK_URL (scope acceptance)"
    assert not_done.split("; ")[-1].startswith("create pipeline schedule 'Weekly: ")
    assert len(not_done.split("; ")) == 6
    # What it said was done, was done; nothing after the failure was.
    assert set(fake.environments) == {"acceptance", "production"}
    assert fake.variables == {}
    assert fake.project["only_allow_merge_if_pipeline_succeeds"] is False
    assert fake.pipeline_schedules == {}


def test_an_unreachable_gitlab_says_so(tools_python, repo, fake):
    with serving(FakeGitLab()) as url:  # a port that was just served and is closed again
        pass

    line = one_line(setup_gitlab(tools_python, repo, "--url", url, "--project", PROJECT_PATH))

    assert line == f"bin/setup-gitlab: cannot reach {url}"


def test_no_origin_remote_says_what_to_give(tools_python, repo):
    git(repo, "remote", "remove", "origin")

    line = one_line(setup_gitlab(tools_python, repo, "--dry-run"))

    assert (
        line == "bin/setup-gitlab: no `origin` remote: add it (git remote add origin URL) or give --url and --project"
    )


# ---- the origin remote ----------------------------------------------------------------

REMOTES = {
    "https://gitlab.example.com/agency/my-project.git": ["https://gitlab.example.com", "agency/my-project"],
    "https://oauth2:secret@gitlab.example.com/group/sub/project.git": [
        "https://gitlab.example.com",
        "group/sub/project",
    ],
    "https://gitlab.example.com:8443/group/project": ["https://gitlab.example.com:8443", "group/project"],
    "git@gitlab.example.com:group/sub/project.git": ["https://gitlab.example.com", "group/sub/project"],
    "ssh://git@gitlab.example.com:2222/group/project.git": ["https://gitlab.example.com", "group/project"],
    "gitlab.example.com:agency/my-project.git": ["https://gitlab.example.com", "agency/my-project"],
}


def test_the_origin_remote_gives_url_and_project(tools_python, default_project):
    """parse_remote() of the script itself, in the tools venv, for the https and ssh forms."""
    code = (
        "import importlib.machinery, importlib.util, json, sys\n"
        "loader = importlib.machinery.SourceFileLoader('setup_gitlab', 'bin/setup-gitlab')\n"
        "module = importlib.util.module_from_spec(importlib.util.spec_from_loader('setup_gitlab', loader))\n"
        "sys.modules['setup_gitlab'] = module\n"
        "loader.exec_module(module)\n"
        "print(json.dumps({remote: module.parse_remote(remote) for remote in json.loads(sys.argv[1])}))\n"
    )

    result = run([tools_python, "-c", code, json.dumps(list(REMOTES))], cwd=default_project)

    assert json.loads(result.stdout) == REMOTES


def test_the_origin_remote_is_read_by_a_run(tools_python, repo, fake, gitlab_url):
    result = setup_gitlab(tools_python, repo, "--dry-run")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{PROJECT_PATH} on {gitlab_url}: ")
