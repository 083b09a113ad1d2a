"""Reject bad answers before cookiecutter writes anything.

Every rule is a small function that returns an error text, or None when the value is
fine. main() runs them in order and stops at the first problem with one line that
names the field, the value and the rule; cookiecutter then removes the output.

No network, no randomness: cruft re-runs this hook on every update.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import zoneinfo

# Rendered by cookiecutter. A raw string, so that backslashes survive; JSON escapes quotes.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

SUPPORTED_PYTHON_VERSIONS = ("3.13", "3.12")
DEPLOY_TARGETS = ("webhook", "kubernetes")

# Names the generated project imports, names at its top level, and names its .gitignore
# or .dockerignore leave out. A project package with one of these names would shadow a
# module, clash with a file, or be silently left out of git or the image.
PROJECT_IMPORTS = frozenset(
    {
        "amqp",
        "bin",
        "build",
        "dist",
        "docs",
        "htmlcov",
        "media",
        "node_modules",
        "secrets",
        "staticfiles",
        "venv",
        "billiard",
        "celery",
        "ci",
        "config",
        "croniter",
        "django",
        "environ",
        "frontend",
        "gunicorn",
        "kombu",
        "psycopg",
        "pytest",
        "pytest_django",
        "redis",
        "site",
        "static",
        "templates",
        "test",
        "tests",
        "whitenoise",
    }
)
RESERVED_SLUGS = PROJECT_IMPORTS | frozenset(sys.stdlib_module_names)

EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?P<domain>[^@]+)$")
DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A Docker/OCI image name without tag or digest: [registry[:port]/]path/components.
IMAGE_REGISTRY = re.compile(r"^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)$")
IMAGE_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


def check_project_name(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    return None


def check_slug(value: str) -> str | None:
    if not (value.isidentifier() and value.isascii() and value == value.lower()):
        return "must be a lowercase Python identifier (a-z, 0-9 and _, not starting with a digit)"
    if keyword.iskeyword(value) or value.startswith("_"):
        return "must not be a Python keyword or start with an underscore"
    if value in RESERVED_SLUGS:
        return "would shadow a module or file of the project; choose another name"
    return None


def check_domain(value: str) -> str | None:
    labels = value.split(".")
    well_formed = (
        len(value) <= 253
        and len(labels) >= 2
        and all(DOMAIN_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )
    if not well_formed:
        return "must be a lowercase domain name such as example.com (no scheme, path or port)"
    return None


def check_email(value: str) -> str | None:
    match = EMAIL.match(value)
    if not match or check_domain(match["domain"].lower()) is not None or ".." in value:
        return "must be an e-mail address such as dev@example.com"
    return None


def check_python_version(value: str) -> str | None:
    if value not in SUPPORTED_PYTHON_VERSIONS:
        return f"must be one of {', '.join(SUPPORTED_PYTHON_VERSIONS)}"
    return None


def check_deploy_target(value: str) -> str | None:
    if value not in DEPLOY_TARGETS:
        return f"must be one of {', '.join(DEPLOY_TARGETS)}"
    return None


def check_base_image(value: str) -> str | None:
    rule = "must be an image name without tag or digest, such as registry.example.com/group/django-base"
    if "@" in value or len(value) > 255:
        return rule
    parts = value.split("/")
    if (
        len(parts) > 1
        and IMAGE_REGISTRY.match(parts[0])
        and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost")
    ):
        parts = parts[1:]
    if not parts or not all(IMAGE_COMPONENT.match(part) for part in parts):
        return rule
    return None


def check_timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return "must be an IANA time zone name such as Europe/Amsterdam or UTC"
    return None


def check_boolean(value: object) -> str | None:
    if not isinstance(value, bool):
        return "must be true or false"
    return None


# Field -> rule, in the order the questions are asked.
RULES = {
    "project_name": check_project_name,
    "project_slug": check_slug,
    "author_email": check_email,
    "domain_name": check_domain,
    "python_version": check_python_version,
    "base_image": check_base_image,
    "timezone": check_timezone,
    "use_celery": check_boolean,
    "use_cron": check_boolean,
    "use_frontend": check_boolean,
    "deploy_target": check_deploy_target,
}


def first_error(answers: dict) -> str | None:
    """The one-line error for the first bad answer, or None when all are fine."""
    for field, rule in RULES.items():
        value = answers[field]
        problem = rule(value)
        if problem:
            return f"Invalid answer: {field}={value!r} {problem}."
    return None


def main() -> int:
    error = first_error(json.loads(ANSWERS_JSON))
    if error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
