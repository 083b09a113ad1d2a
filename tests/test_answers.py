"""Bad answers stop the bake with one clear line, and leave nothing behind."""

from __future__ import annotations

import html.parser
import re
import warnings
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from tests.answers import TEMPLATE_DIR
from tests.helpers import run, tool

# (field, value, the rule's words, other answers of the same bake)
BAD_ANSWERS = [
    ("project_slug", "My-Project", "must be a lowercase Python identifier", {}),
    ("project_slug", "site", "would shadow a module of the standard library", {}),
    ("project_slug", "django", "would shadow a module of django==", {}),
    ("project_slug", "asgiref", "would shadow a module of asgiref==", {}),
    ("project_slug", "vine", "would shadow a module of vine==", {"use_celery": False}),
    ("project_slug", "pluggy", "would shadow a module of pluggy==", {}),
    ("project_slug", "config", "would collide with a file or directory of the project", {}),
    ("project_slug", "crontab", "would collide with a file or directory of the project", {"use_cron": True}),
    ("project_slug", "build", "would collide with a file or directory of the project", {}),
    ("project_slug", "media", "would collide with a file or directory of the project", {}),
    ("project_slug", "my_project_", "must give a valid image name", {}),
    ("project_slug", "a" * 41, "must be at most 40 characters long", {}),
    ("project_slug", "a" * 255, "must be at most 40 characters long", {}),
    ("project_name", "{% raw %}{{ secret }}{% endraw %}", "must not contain template syntax", {}),
    ("description", "{% raw %}{% load static %}{% endraw %}", "must not contain template syntax", {}),
    ("author_email", "nobody-at-example.com", "must be an e-mail address", {}),
    ("domain_name", "https://example.com", "must be a lowercase domain name", {}),
    ("base_image", "registry.example.com/base:3.13", "must be an image name without tag or digest", {}),
    ("base_image", "Not An Image", "must be an image name without tag or digest", {}),
    ("timezone", "Europe/Atlantis", "must be an IANA time zone name", {}),
]


def rendered(value: str) -> str:
    """The value as the hook sees it, after cookiecutter rendered it as Jinja."""
    return value.replace("{% raw %}", "").replace("{% endraw %}", "")


@pytest.mark.parametrize(
    ("field", "value", "rule", "others"), BAD_ANSWERS, ids=[f"{f}={v[:20]}" for f, v, _, _ in BAD_ANSWERS]
)
def test_bad_answer_fails_with_one_line_printed_last_and_leaves_nothing(tmp_path, capfd, field, value, rule, others):
    output = tmp_path / "output"
    output.mkdir()
    (output / "keep-me.txt").write_text("the user's own file")

    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(output), extra_context={**others, field: value})

    stderr = capfd.readouterr().err.splitlines()
    errors = [line for line in stderr if line.startswith("Invalid answer:")]
    assert errors == [f"Invalid answer: {field}={rendered(value)!r} {rule}" + errors[0].split(rule, 1)[1]]
    assert errors[0].endswith(".")
    assert stderr[-1] == errors[0]
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


def test_the_slug_is_derived_from_any_project_name_and_the_code_compiles(tmp_path):
    """Quotes and backslashes in the name land in Python string literals too."""
    name = 'Bob\'s "Café"-Shop 2 \\ more'
    answers = {"project_name": name}
    project = cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context=answers)

    assert project.endswith("/bob_s_cafe_shop_2_more")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an invalid escape sequence is a SyntaxWarning
        for path in Path(project).rglob("*.py"):
            compile(path.read_text(), str(path), "exec")


def test_a_long_project_name_gives_a_capped_slug(tmp_path):
    name = "Acme " + "very long words " * 20
    project = Path(
        cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context={"project_name": name})
    )
    assert project.name == "acme_very_long_words_very_long_words"
    huge = cookiecutter(
        str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context={"project_name": "x" * 300}
    )
    assert Path(huge).name == "x" * 40


def test_jinja_in_an_answer_is_rendered_by_cookiecutter_before_the_hook(tmp_path):
    """cookiecutter's design, left alone: the hook sees 49, which is a fine name."""
    project = Path(
        cookiecutter(
            str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context={"project_name": "Shop {{ 7*7 }}"}
        )
    )
    assert project.name == "shop_49"
    assert "# Shop 49\n" in (project / "README.md").read_text()


def test_a_slug_beyond_the_file_name_limit_stops_in_cookiecutter_before_any_hook(tmp_path):
    """cookiecutter creates the project's directory before the pre-generation hook runs: a slug
    longer than a file name may be (255 bytes) fails there, with nothing left behind."""
    with pytest.raises(OSError, match="File name too long"):
        cookiecutter(
            str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context={"project_slug": "a" * 300}
        )

    assert list(tmp_path.iterdir()) == []


HTML_NAME = 'Shop <b>Bold</b> "Q" & Co'
HTML_DESCRIPTION = "<script>alert('x')</script> {not a tag}"


@pytest.mark.slow
def test_answers_are_escaped_in_the_rendered_pages(bake, venv_for):
    """The home page, rendered by the generated project's Django (its own venv) with the test client."""
    project = bake(project_name=HTML_NAME, description=HTML_DESCRIPTION)
    script = (
        "import django; django.setup(); from django.test import Client;"
        " response = Client().get('/'); assert response.status_code == 200, response.status_code;"
        " print(response.content.decode())"
    )
    venv = venv_for(project)
    result = run(
        [venv / "bin" / "python", "-c", script],
        cwd=project,
        env={"DJANGO_SETTINGS_MODULE": "config.settings.testing", "VIRTUAL_ENV": str(venv)},
    )
    page = Page()
    page.feed(result.stdout)

    assert page.texts["title"] == HTML_NAME
    assert page.texts["h1"] == HTML_NAME
    assert page.texts["p"] == HTML_DESCRIPTION
    assert "b" not in page.tags, "an answer became markup"
    assert all(dict(attrs).get("src") for tag, attrs in page.elements if tag == "script"), "only the bundle's script"


class Page(html.parser.HTMLParser):
    """The page's element names, and the text inside each element (entities resolved)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.elements: list[tuple[str, list]] = []
        self.open: list[str] = []
        self.texts: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.elements.append((tag, attrs))
        self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data):
        if self.open:
            self.texts[self.open[-1]] = self.texts.get(self.open[-1], "") + data


def test_the_readme_shows_a_refusal_as_the_cli_prints_it(tmp_path):
    readme = (TEMPLATE_DIR / "README.md").read_text()
    example = readme.split("\n$ cookiecutter --no-input ", 1)[1].split("\n```", 1)[0].splitlines()
    answer = example[0].split()[-1]

    result = run([tool("cookiecutter"), "--no-input", TEMPLATE_DIR, answer], cwd=tmp_path, check=False)

    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == example[1]
    assert "Traceback (most recent call last):" in result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == example[-1]
    assert list(tmp_path.iterdir()) == []
