"""The hooks, imported and tested as plain functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks import post_gen_project, pre_gen_project
from tests.answers import COOKIECUTTER_JSON, TEMPLATE_DIR


def valid_answers() -> dict:
    answers = {key: value for key, value in COOKIECUTTER_JSON.items() if not key.startswith("_")}
    answers["python_version"] = answers["python_version"][0]
    answers["deploy_target"] = answers["deploy_target"][0]
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


SLUG = "my_project"
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
ALL_PARTS_ON = {
    "project_slug": SLUG,
    "use_celery": True,
    "use_cron": True,
    "use_frontend": True,
    "deploy_target": "kubernetes",
}


def another_value(value: object) -> object:
    """An answer other than value: the other boolean, or the other deploy target."""
    if isinstance(value, bool):
        return not value
    (other,) = set(pre_gen_project.DEPLOY_TARGETS) - {value}
    return other


def make_project(tmp_path: Path) -> Path:
    """Every part's files (a file inside each of its directories, as in the template) and a shared file."""
    for part in post_gen_project.PARTS:
        for relative in post_gen_project.part_paths(part, SLUG):
            in_template = PROJECT_TEMPLATE / relative.replace(SLUG, PROJECT_TEMPLATE.name)
            path = tmp_path / relative / "inside" if in_template.is_dir() else tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x")
    (tmp_path / "manage.py").write_text("x")
    return tmp_path


def paths(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.mark.parametrize("part", post_gen_project.PARTS, ids=lambda part: part[0])
def test_prune_removes_exactly_the_part_that_is_not_chosen(tmp_path, part):
    project = make_project(tmp_path)
    before = paths(project)
    answer, value = part
    answers = {**ALL_PARTS_ON, answer: another_value(value)}

    post_gen_project.prune(project, answers)

    removed = post_gen_project.part_paths(part, SLUG)
    assert before - paths(project) == {p for p in before if any(p == r or p.startswith(r + "/") for r in removed)}
    assert not any((project / relative).exists() for relative in removed)


def test_prune_is_idempotent_and_tolerates_missing_files(tmp_path):
    project = make_project(tmp_path)
    answers = {
        "project_slug": SLUG,
        "use_celery": False,
        "use_cron": False,
        "use_frontend": False,
        "deploy_target": "webhook",
    }

    post_gen_project.prune(project, answers)
    post_gen_project.prune(project, answers)  # as cruft update re-runs it

    assert paths(project) == {"manage.py"}


def test_every_boolean_question_brings_a_part():
    booleans = {key for key, value in COOKIECUTTER_JSON.items() if isinstance(value, bool)}
    assert {answer for answer, _ in post_gen_project.PARTS} >= booleans


def test_deploy_targets_are_exactly_the_choices_and_the_default_is_webhook():
    assert tuple(COOKIECUTTER_JSON["deploy_target"]) == pre_gen_project.DEPLOY_TARGETS
    assert COOKIECUTTER_JSON["deploy_target"][0] == "webhook"
    assert pre_gen_project.check_deploy_target("kubernetes") is None
    assert pre_gen_project.first_error(valid_answers() | {"deploy_target": "nomad"}) == (
        "Invalid answer: deploy_target='nomad' must be one of webhook, kubernetes."
    )
