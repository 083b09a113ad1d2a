"""The user model: the project's own (users.User) in a project generated with it.

A project generated before the template had it keeps Django's auth.User (its database
holds it; config/settings/base.py decides by the users app's first migration), and these
tests pass for both.
"""

import io

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from .processes import PROJECT_DIR

USERS_MIGRATION = PROJECT_DIR / "{{ cookiecutter.project_slug }}" / "users" / "migrations" / "0001_initial.py"


def admin_url(view, *args):
    meta = get_user_model()._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def test_the_user_model_is_the_projects_own_where_its_migration_is():
    expected = "users.User" if USERS_MIGRATION.exists() else "auth.User"

    assert get_user_model()._meta.label == expected
    assert expected == settings.AUTH_USER_MODEL


@pytest.mark.django_db
def test_users_and_superusers_are_created():
    user = get_user_model().objects.create_user("ada", "ada@example.com", "analytical-engine")
    superuser = get_user_model().objects.create_superuser("grace", "grace@example.com", "compiler-1952")

    assert user.check_password("analytical-engine")
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert (superuser.is_staff, superuser.is_superuser) == (True, True)


@pytest.mark.django_db
def test_the_admin_lists_and_changes_users(admin_client, admin_user):
    changelist = admin_client.get(admin_url("changelist"))
    change = admin_client.get(admin_url("change", admin_user.pk))

    assert changelist.status_code == 200
    assert admin_user.username in changelist.content.decode()
    assert change.status_code == 200
    assert 'name="username"' in change.content.decode()


@pytest.mark.django_db
def test_createsuperuser_takes_its_answers_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-and-unusual-passphrase")

    call_command("createsuperuser", "--noinput", stdout=io.StringIO())

    admin = get_user_model().objects.get(username="admin")
    assert (admin.is_superuser, admin.email) == (True, "admin@example.com")
    assert admin.check_password("a-long-and-unusual-passphrase")
