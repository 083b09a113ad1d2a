"""A project generated before the custom user model keeps Django's auth.User through `cruft update`.

Its migrations are in `[tool.cruft] skip`, so the update brings the users app's code but not
its first migration, and the settings install the app (and set AUTH_USER_MODEL) only where
that migration exists. The test: the template as it was before the users app (OLD_TEMPLATE,
a commit of this repository), a project generated from it whose database on the real
PostgreSQL is migrated and holds users, `cruft update` to the template of the working tree;
then the project's own suite, `makemigrations --check` and `migrate` against that same
database pass, and its users are still there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.answers import DEFAULTS
from tests.helpers import POSTGRES, database_url, run
from tests.require import require_postgres
from tests.template_repo import Repo, TemplateRepo, conflicts, cruft_update, generate_project, git_environment
from tests.venvs import project_environment

# The last template commit before the custom user model: projects generated from it have auth.User.
OLD_TEMPLATE = "a1f25f6eee59576bc787d83e3726b6cffa0e6901"
SLUG = "my_project"
USERS = ["ada", "grace"]

pytestmark = [pytest.mark.slow, pytest.mark.services]

RECREATE_DATABASE = """
import sys, psycopg
server, name = sys.argv[1:]
with psycopg.connect(server + "/postgres", autocommit=True) as connection:
    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.execute(f'CREATE DATABASE "{name}"')
"""
CREATE_USERS = """
from django.contrib.auth import get_user_model
get_user_model().objects.create_superuser("ada", "ada@example.com", "analytical-engine")
get_user_model().objects.create_user("grace", "grace@example.com", "compiler-1952")
"""
SHOW_USERS = """
import json
from django.conf import settings
from django.contrib.auth import get_user_model
users = get_user_model().objects.order_by("username")
print(json.dumps({"model": settings.AUTH_USER_MODEL, "users": list(users.values_list("username", flat=True)),
                  "ada": users.get(username="ada").check_password("analytical-engine")}))
"""


class Project:
    """A generated project in its git repository, run with its venv against one PostgreSQL database."""

    def __init__(self, repo: Repo, venv: Path, database: str):
        self.repo = repo
        self.path = repo.path
        self.env = {
            **repo.env,
            **project_environment(venv, DATABASE_URL=database, DJANGO_SETTINGS_MODULE="config.settings.development"),
        }

    def run(self, *command: str) -> str:
        return run(command, cwd=self.path, env=self.env).stdout

    def manage(self, *args: str) -> str:
        return self.run("python", "manage.py", *args)

    def users(self) -> dict:
        return json.loads(self.manage("shell", "--no-imports", "-c", SHOW_USERS).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def updated(tmp_path_factory, venv_for) -> tuple[Project, dict]:
    """The old project with users in its database, before and after the update."""
    require_postgres()
    root = tmp_path_factory.mktemp("cruft-user-model")
    env = git_environment(root / "home")
    template = TemplateRepo.copy_of_commit(root / "template", env, OLD_TEMPLATE)
    template.commit("The template before the custom user model")
    repo = generate_project(template, root / "projects")
    database = database_url("cruft-user-model")
    project = Project(repo, venv_for(repo.path, DEFAULTS["python_version"]), database)
    project.run("python", "-c", RECREATE_DATABASE, POSTGRES, database.rsplit("/", 1)[1])
    project.manage("migrate", "--noinput")
    project.manage("shell", "--no-imports", "-c", CREATE_USERS)
    before = project.users()

    template.advance_to_working_tree("The template with the custom user model")
    returncode, output = cruft_update(repo)
    assert returncode == 0, output
    assert conflicts(repo.path) == []
    repo.commit("Template update")
    return Project(repo, venv_for(repo.path, DEFAULTS["python_version"]), database), before


def test_the_old_project_had_auth_user_and_its_users(updated):
    _, before = updated

    assert before == {"model": "auth.User", "users": USERS, "ada": True}


def test_the_update_brings_the_users_app_but_not_its_migration(updated):
    project, _ = updated
    users_app = project.path / SLUG / "users"

    assert (users_app / "models.py").is_file()
    assert not (users_app / "migrations").exists()  # [tool.cruft] skip: the database's history


def test_the_updated_project_keeps_auth_user_and_its_users(updated):
    project, _ = updated

    project.manage("migrate", "--noinput")

    assert project.users() == {"model": "auth.User", "users": USERS, "ada": True}


def test_the_updated_projects_models_and_migrations_agree(updated):
    project, _ = updated

    assert "No changes detected" in project.manage("makemigrations", "--check", "--dry-run")


def test_the_updated_project_passes_its_own_suite_on_postgresql(updated):
    project, _ = updated

    output = project.run("bin/run-tests", "-p", "no:cacheprovider", "-v")

    assert "test_the_user_model_is_the_projects_own_where_its_migration_is PASSED" in output
    assert "test_the_admin_lists_and_changes_users PASSED" in output
    assert " passed" in output.splitlines()[-1]
