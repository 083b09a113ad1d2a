"""The hooks, imported and tested as plain functions."""

from __future__ import annotations

import pytest

from hooks import post_gen_project, pre_gen_project
from tests.answers import COOKIECUTTER_JSON


def valid_answers() -> dict:
    answers = {key: value for key, value in COOKIECUTTER_JSON.items() if not key.startswith("_")}
    answers["python_version"] = answers["python_version"][0]
    answers["project_slug"] = "my_project"
    return answers


def test_the_default_answers_are_valid():
    assert pre_gen_project.first_error(valid_answers()) is None


@pytest.mark.parametrize("slug", ["shop", "my_project", "a1", "acme_web_2"])
def test_good_slugs(slug):
    assert pre_gen_project.check_slug(slug) is None


@pytest.mark.parametrize(
    ("slug", "rule"),
    [
        ("My_Project", "lowercase Python identifier"),
        ("my-project", "lowercase Python identifier"),
        ("1project", "lowercase Python identifier"),
        ("", "lowercase Python identifier"),
        ("café", "lowercase Python identifier"),
        ("class", "keyword"),
        ("_private", "underscore"),
        ("django", "shadow"),
        ("celery", "shadow"),
        ("config", "shadow"),
        ("test", "shadow"),
        ("tests", "shadow"),
        ("site", "shadow"),
        ("json", "shadow"),
        ("environ", "shadow"),
        ("docs", "shadow"),
        ("media", "shadow"),
        ("staticfiles", "shadow"),
    ],
)
def test_bad_slugs(slug, rule):
    assert rule in pre_gen_project.check_slug(slug)


@pytest.mark.parametrize("email", ["dev@example.com", "first.last+tag@mail.example.co.uk"])
def test_good_emails(email):
    assert pre_gen_project.check_email(email) is None


@pytest.mark.parametrize(
    "email", ["dev", "dev@", "@example.com", "dev@localhost", "a@@b.com", "dev@exa mple.com", "a..b@x.com"]
)
def test_bad_emails(email):
    assert pre_gen_project.check_email(email) is not None


@pytest.mark.parametrize("domain", ["example.com", "www.example.co.uk", "xn--bcher-kva.example", "a-b.io"])
def test_good_domains(domain):
    assert pre_gen_project.check_domain(domain) is None


@pytest.mark.parametrize(
    "domain",
    ["localhost", "https://example.com", "example.com/", "Example.com", "-a.com", "a..com", "1.2.3.4", "ex_ample.com"],
)
def test_bad_domains(domain):
    assert pre_gen_project.check_domain(domain) is not None


@pytest.mark.parametrize(
    "image",
    [
        "registry.gitlab.com/agency/django-base-image",
        "localhost:5000/django-base",
        "localhost/base",
        "django-base",
        "ghcr.io/org/sub/group/image_name",
        "registry.example.com:443/a/b",
    ],
)
def test_good_base_images(image):
    assert pre_gen_project.check_base_image(image) is None


@pytest.mark.parametrize(
    "image",
    [
        "registry.gitlab.com/agency/django-base-image:3.13",
        "django-base@sha256:abc",
        "Registry/Upper",
        "registry.gitlab.com/Agency/base",
        "https://registry.gitlab.com/agency/base",
        "a//b",
        "",
        "base-",
    ],
)
def test_bad_base_images(image):
    assert pre_gen_project.check_base_image(image) is not None


def test_python_versions_are_exactly_the_choices():
    for version in COOKIECUTTER_JSON["python_version"]:
        assert pre_gen_project.check_python_version(version) is None
    assert tuple(COOKIECUTTER_JSON["python_version"]) == pre_gen_project.SUPPORTED_PYTHON_VERSIONS
    assert pre_gen_project.check_python_version("3.9") is not None


def test_timezones():
    assert pre_gen_project.check_timezone("Europe/Amsterdam") is None
    assert pre_gen_project.check_timezone("Mars/Olympus") is not None


def test_first_error_is_one_line_naming_field_value_and_rule():
    answers = valid_answers() | {"author_email": "not-an-email"}

    error = pre_gen_project.first_error(answers)

    assert error == "Invalid answer: author_email='not-an-email' must be an e-mail address such as dev@example.com."
    assert "\n" not in error


def test_every_question_has_a_rule_or_is_free_text():
    free_text = {"description", "author_name"}
    questions = {key for key in COOKIECUTTER_JSON if not key.startswith("_")}
    assert questions == set(pre_gen_project.RULES) | free_text
    assert set(COOKIECUTTER_JSON["__prompts__"]) == questions


def make_project(tmp_path, slug="my_project"):
    for relative in [
        "config/celery.py",
        f"{slug}/core/tasks.py",
        "tests/test_tasks.py",
        "crontab",
        "frontend/src/main.js",
        "frontend/package.json",
        "manage.py",
    ]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    ("option", "removed"),
    [
        ("use_celery", ["config/celery.py", "my_project/core/tasks.py", "tests/test_tasks.py"]),
        ("use_cron", ["crontab"]),
        ("use_frontend", ["frontend"]),
    ],
)
def test_prune_removes_only_what_is_switched_off(tmp_path, option, removed):
    project = make_project(tmp_path)
    before = {p.relative_to(project).as_posix() for p in project.rglob("*")}
    answers = {"project_slug": "my_project", "use_celery": True, "use_cron": True, "use_frontend": True, option: False}

    post_gen_project.prune(project, answers)

    after = {p.relative_to(project).as_posix() for p in project.rglob("*")}
    gone = before - after
    assert all(any(path == r or path.startswith(r + "/") for r in removed) for path in gone)
    assert all(not (project / r).exists() for r in removed)
    assert (project / "manage.py").exists()


def test_prune_is_idempotent_and_tolerates_missing_files(tmp_path):
    project = make_project(tmp_path)
    answers = {"project_slug": "my_project", "use_celery": False, "use_cron": False, "use_frontend": False}

    post_gen_project.prune(project, answers)
    post_gen_project.prune(project, answers)  # as cruft update re-runs it

    assert sorted(p.name for p in project.iterdir()) == ["config", "manage.py", "my_project", "tests"]


def test_every_option_has_a_pruner():
    options = {key for key in COOKIECUTTER_JSON if key.startswith("use_")}
    assert set(post_gen_project.PRUNERS) == options
