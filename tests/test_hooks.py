"""The hooks, imported and tested as plain functions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hooks import post_gen_project, pre_gen_project
from tests.answers import COOKIECUTTER_JSON, TEMPLATE_DIR
from tests.require import unavailable


def valid_answers() -> dict:
    answers = {key: value for key, value in COOKIECUTTER_JSON.items() if not key.startswith("_")}
    answers["python_version"] = answers["python_version"][0]
    answers["deploy_target"] = answers["deploy_target"][0]
    answers["project_slug"] = "my_project"
    return answers


def test_the_default_answers_are_valid():
    assert pre_gen_project.first_error(valid_answers()) is None


def slug_error(slug: str) -> str | None:
    return pre_gen_project.first_error(valid_answers() | {"project_slug": slug})


@pytest.mark.parametrize("slug", ["shop", "my_project", "a1", "acme_web_2", "a__b", "x" * 40])
def test_good_slugs(slug):
    assert slug_error(slug) is None


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
        ("site", "standard library"),
        ("json", "standard library"),
        ("test", "standard library"),
        ("x" * 41, "at most 40 characters"),
        ("a" * 300, "at most 40 characters"),
        ("my_project_", "valid image name"),
        ("shop__", "valid image name"),
        # every top-level import name of the locked distributions, test tools included
        ("django", "would shadow a module of django=="),
        ("celery", "would shadow a module of celery=="),
        ("environ", "would shadow a module of django-environ=="),
        ("asgiref", "would shadow a module of asgiref=="),
        ("vine", "would shadow a module of vine=="),
        ("pluggy", "would shadow a module of pluggy=="),
        ("_pytest", "underscore"),
        ("py", "would shadow a module of pytest=="),
        ("dateutil", "would shadow a module of python-dateutil=="),
        ("gitlab", "would shadow a module of python-gitlab=="),  # the tools' lock
        # the project's own top-level names in any variant, and names git leaves out
        ("config", "collide"),
        ("tests", "collide"),
        ("crontab", "collide"),
        ("frontend", "collide"),
        ("manage", "collide"),
        ("dockerfile", "collide"),
        ("docs", "collide"),
        ("media", "collide"),
        ("staticfiles", "collide"),
        ("build", "collide"),
        ("dist", "collide"),
    ],
)
def test_bad_slugs(slug, rule):
    error = slug_error(slug)
    assert error.startswith(f"Invalid answer: project_slug={slug!r} ")
    assert rule in error


@pytest.mark.parametrize("field", ["project_name", "description", "author_name", "project_slug", "timezone"])
@pytest.mark.parametrize("syntax", ["{{ 7*7 }}", "{% if x %}", "{# note #}", "a {{b"])
def test_template_syntax_left_after_rendering_is_refused_in_every_text_answer(field, syntax):
    error = pre_gen_project.first_error(valid_answers() | {field: syntax})
    assert (
        error
        == f"Invalid answer: {field}={syntax!r} must not contain template syntax ({{{{, {{% or {{#) once rendered."
    )


@pytest.mark.parametrize("text", ["49", "{ 7*7 }", "a { b } c", "100% {x}", "#{x}"])
def test_braces_that_are_not_template_syntax_are_fine(text):
    assert pre_gen_project.first_error(valid_answers() | {"project_name": text, "description": text}) is None


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


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "UTC", "America/Argentina/Buenos_Aires", "Asia/Kolkata"])
def test_iana_time_zones_are_accepted(zone):
    assert pre_gen_project.check_timezone(zone) is None


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/amsterdam", "posixrules", "localtime", "../etc/passwd", ""])
def test_names_outside_the_iana_database_are_refused(zone):
    """posixrules is a file of Debian's zoneinfo, not an IANA zone: the host's files would accept it."""
    assert pre_gen_project.check_timezone(zone) == "must be an IANA time zone name such as Europe/Amsterdam or UTC"


def test_time_zones_come_from_the_tzdata_package_of_the_tools():
    zones = pre_gen_project.iana_zone_names()
    assert zones is not None, "tzdata is pinned in requirements-dev.txt"
    assert {"Europe/Amsterdam", "UTC", "Pacific/Kanton"} <= zones
    assert len(zones) > 500


def test_without_tzdata_the_host_zone_files_decide_and_the_refusal_says_so():
    """The hook's check in this Python without its site-packages (-S), where tzdata is missing,
    as in a cookiecutter installed without it."""
    code = "import sys, importlib.util as u; sys.exit(0 if u.find_spec('tzdata') is None else 3)"
    if subprocess.run([sys.executable, "-I", "-S", "-c", code], check=False).returncode != 0:
        unavailable(f"{sys.executable} has tzdata in its standard library path")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from hooks.pre_gen_project import check_timezone as c;"
        " print(c('Europe/Amsterdam')); print(c('Mars/Olympus'))"
    )
    command = [sys.executable, "-I", "-S", "-c", script, str(TEMPLATE_DIR)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    accepted, refused = result.stdout.splitlines()
    assert accepted == "None"
    assert refused.endswith("(checked against this machine's zone files: install tzdata for the IANA database)")


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


# ---- rules added later, within a cruft update ------------------------------------------


def test_every_rule_names_the_version_that_introduced_it_in_the_changelog():
    """CHANGELOG.md lists each rule (by its function) under the version its `since` names."""
    sections = re.split(r"^## ", (TEMPLATE_DIR / "CHANGELOG.md").read_text(), flags=re.MULTILINE)[1:]
    by_version = {re.search(r"\d+\.\d+\.\d+", section.splitlines()[0])[0]: section for section in sections}
    rules = [*pre_gen_project.TEXT_RULES, *(rule for rules in pre_gen_project.RULES.values() for rule in rules)]
    for rule in rules:
        assert f"`{rule.check.__name__}`" in by_version[rule.since], f"{rule.check.__name__} (since {rule.since})"


def test_a_newer_rule_warns_in_a_replay_and_refuses_otherwise():
    answers = valid_answers() | {"project_slug": "build"}

    warnings, error = pre_gen_project.review(answers, replay=True)
    assert error is None
    assert warnings == [
        "Warning: project_slug='build' would collide with a file or directory of the project, or a name git "
        "leaves out; choose another name (a rule since template 0.2.0; kept for this existing project, whose "
        "answers cruft replays)."
    ]
    assert pre_gen_project.review(answers, replay=False) == ([], pre_gen_project.first_error(answers))


def test_a_rule_of_the_first_version_refuses_in_a_replay_too():
    answers = valid_answers() | {"project_slug": "build", "author_email": "nobody"}

    warnings, error = pre_gen_project.review(answers, replay=True)

    assert len(warnings) == 1
    assert error.startswith("Invalid answer: author_email='nobody' ")


def test_only_cruft_generating_into_a_fresh_temporary_directory_is_a_replay(tmp_path, monkeypatch):
    cruft_answers = valid_answers() | {"_template": "https://example.com/t.git", "_commit": "0" * 40}
    with tempfile.TemporaryDirectory() as temporary:  # as cruft update and diff generate
        (Path(temporary) / SLUG).mkdir()
        monkeypatch.chdir(Path(temporary) / SLUG)
        assert pre_gen_project.is_cruft_replay(cruft_answers)
        assert not pre_gen_project.is_cruft_replay(cruft_answers | {"_output_dir": temporary})  # cookiecutter
        assert not pre_gen_project.is_cruft_replay(valid_answers())
    (tmp_path / "projects" / SLUG).mkdir(parents=True)  # cruft create into a directory of the user's
    monkeypatch.chdir(tmp_path / "projects" / SLUG)
    assert not pre_gen_project.is_cruft_replay(cruft_answers)
    # cruft create -o "$(mktemp -d)": a temporary directory, but not one that cruft made.
    made_by_mktemp = Path(tempfile.gettempdir()) / f"tmp.{tmp_path.name[-10:]}"
    (made_by_mktemp / SLUG).mkdir(parents=True)
    try:
        monkeypatch.chdir(made_by_mktemp / SLUG)
        assert not pre_gen_project.is_cruft_replay(cruft_answers)
    finally:
        monkeypatch.chdir(tmp_path)
        shutil.rmtree(made_by_mktemp)


def test_deploy_targets_are_exactly_the_choices_and_the_default_is_webhook():
    assert tuple(COOKIECUTTER_JSON["deploy_target"]) == pre_gen_project.DEPLOY_TARGETS
    assert COOKIECUTTER_JSON["deploy_target"][0] == "webhook"
    assert pre_gen_project.check_deploy_target("kubernetes") is None
    assert pre_gen_project.first_error(valid_answers() | {"deploy_target": "nomad"}) == (
        "Invalid answer: deploy_target='nomad' must be one of webhook, kubernetes."
    )
