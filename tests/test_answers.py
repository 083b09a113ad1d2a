"""Bad answers stop the bake with one clear line, and leave nothing behind."""

from __future__ import annotations

import re

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from tests.answers import TEMPLATE_DIR

BAD_ANSWERS = [
    ("project_slug", "My-Project", "must be a lowercase Python identifier"),
    ("project_slug", "django", "would shadow a module or file of the project"),
    ("project_slug", "config", "would shadow a module or file of the project"),
    ("project_slug", "site", "would shadow a module or file of the project"),
    ("project_slug", "docs", "would shadow a module or file of the project"),
    ("project_slug", "media", "would shadow a module or file of the project"),
    ("author_email", "nobody-at-example.com", "must be an e-mail address"),
    ("domain_name", "https://example.com", "must be a lowercase domain name"),
    ("base_image", "registry.example.com/base:3.13", "must be an image name without tag or digest"),
    ("base_image", "Not An Image", "must be an image name without tag or digest"),
    ("timezone", "Europe/Atlantis", "must be an IANA time zone name"),
]


@pytest.mark.parametrize(("field", "value", "rule"), BAD_ANSWERS, ids=[f"{f}={v}" for f, v, _ in BAD_ANSWERS])
def test_bad_answer_fails_with_one_line_and_leaves_nothing(tmp_path, capfd, field, value, rule):
    output = tmp_path / "output"
    output.mkdir()
    (output / "keep-me.txt").write_text("the user's own file")

    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(output), extra_context={field: value})

    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("Invalid answer:")]
    assert errors == [f"Invalid answer: {field}={value!r} {rule}" + errors[0].split(rule, 1)[1]]
    assert errors[0].endswith(".")
    assert sorted(p.name for p in output.iterdir()) == ["keep-me.txt"]


# Cookiecutter itself refuses these before the hook runs, with a line naming field, value
# and rule. (The hook checks them as well, for contexts replayed from .cruft.json.)
REFUSED_BY_COOKIECUTTER = [
    ("python_version", "3.9", "3.9 provided for choice variable python_version, but the choices are ['3.13', '3.12']."),
    ("use_celery", "maybe", "maybe provided for variable use_celery could not be converted to a boolean."),
    (
        "deploy_target",
        "nomad",
        "nomad provided for choice variable deploy_target, but the choices are ['webhook', 'kubernetes'].",
    ),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), REFUSED_BY_COOKIECUTTER, ids=[f for f, _, _ in REFUSED_BY_COOKIECUTTER]
)
def test_answers_cookiecutter_refuses_leave_nothing(tmp_path, field, value, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context={field: value})

    assert list(tmp_path.iterdir()) == []


def test_a_good_answer_set_bakes(tmp_path):
    project = cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        output_dir=str(tmp_path),
        extra_context={"project_name": "Acme Web Shop", "domain_name": "shop.acme.example", "python_version": "3.12"},
    )
    assert project.endswith("acme_web_shop")


def test_the_slug_is_derived_from_any_project_name(tmp_path):
    project = cookiecutter(
        str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context={"project_name": "Bob's Café-Shop 2"}
    )
    assert project.endswith("/bob_s_cafe_shop_2")
