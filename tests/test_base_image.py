"""The shared Django base image (base-image/): linted, then built for real and checked.

Lint and the entrypoint's edge cases run on the host (cheap, no marker). Everything that
needs an image is marked ``container``: it builds base-image/ with podman on the cached
run's Python image, official or stand-in (tests/containers); once cached, the whole module
takes seconds. The tests that depend on the Python version run on every supported one
(cookiecutter.json's ``python_version`` choices): ``every_python``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from tests.answers import DEFAULTS, PYTHON_VERSIONS
from tests.containers import images
from tests.containers.images import BASE_IMAGE_DIR, BASE_IMAGE_LABEL_ARGS
from tests.containers.podman import Podman
from tests.containers.standins import python_image
from tests.helpers import TEMPLATE_DIR, run, tool

ENTRYPOINT = BASE_IMAGE_DIR / "entrypoint"
HEALTHCHECK = BASE_IMAGE_DIR / "healthcheck"
SHELL_SCRIPTS = [
    ENTRYPOINT,
    HEALTHCHECK,
    TEMPLATE_DIR / "tests" / "standin" / "build-rootfs.sh",
    TEMPLATE_DIR / "tests" / "standin" / "postgres-entrypoint.sh",
    TEMPLATE_DIR / "scripts" / "podman-env",
]
container = pytest.mark.container
#: A test that depends on the Python version: run it on the base image of every supported one.
every_python = pytest.mark.parametrize("python_version", PYTHON_VERSIONS, indirect=True)


# --------------------------------------------------------------------------------------
# lint (no podman needed)


def test_dockerfile_passes_hadolint():
    run([tool("hadolint"), "--failure-threshold", "warning", BASE_IMAGE_DIR / "Dockerfile"], cwd=TEMPLATE_DIR)


@pytest.mark.parametrize("containerfile", sorted((TEMPLATE_DIR / "tests" / "standin").glob("*.Containerfile")), ids=str)
def test_standin_containerfiles_pass_hadolint(containerfile):
    run([tool("hadolint"), "--failure-threshold", "warning", containerfile], cwd=TEMPLATE_DIR)


def test_shell_scripts_pass_shellcheck():
    run([tool("shellcheck"), *SHELL_SCRIPTS], cwd=TEMPLATE_DIR)


def test_scripts_are_executable():
    for script in SHELL_SCRIPTS:
        assert os.access(script, os.X_OK), f"{script} is not executable"


# --------------------------------------------------------------------------------------
# the entrypoint's edge cases, run by the host's bash (no podman needed)


def entrypoint(*command: str, secrets: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run base-image/entrypoint with only PATH and ``env`` in the environment; ``secrets``, where
    given, is the one secrets directory (ENTRYPOINT_SECRET_DIRS), as /run/secrets is in a container."""
    if secrets is not None:
        env = {"ENTRYPOINT_SECRET_DIRS": str(secrets), **env}
    command = ["bash", str(ENTRYPOINT), *command]
    return subprocess.run(command, env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("content", "value"),
    [
        ("line one\nline two\n\n", "line one\nline two"),
        ("s3cret\r\n", "s3cret"),
        ("s3cret\r\n\r\n", "s3cret"),
        ("in\r\nside\r\n", "in\r\nside"),
    ],
    ids=["newlines", "crlf", "crlf-twice", "inner-crlf-kept"],
)
def test_entrypoint_strips_trailing_newlines_and_carriage_returns_only(tmp_path, content, value):
    secret = tmp_path / "secret"
    secret.write_bytes(content.encode())
    result = entrypoint(
        "python3", "-c", "import os; print(repr(os.environ['TOKEN']))", secrets=tmp_path, TOKEN_FILE=str(secret)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == repr(value) + "\n"


def test_entrypoint_removes_the_file_variable(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x")
    result = entrypoint("sh", "-c", 'echo "${TOKEN_FILE-unset}"', secrets=tmp_path, TOKEN_FILE=str(secret))
    assert result.stdout == "unset\n"


def test_entrypoint_refuses_both_name_and_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file")
    result = entrypoint("true", secrets=tmp_path, TOKEN="from-env", TOKEN_FILE=str(secret))
    assert result.returncode == 1
    assert result.stderr == "entrypoint: both TOKEN and TOKEN_FILE are set; set only one of them\n"
    assert "from-file" not in result.stderr
    assert "from-env" not in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{tmp}/subdir", "is a directory"),
        ("{tmp}/nope", "does not exist"),
        ("{tmp}/fifo", "is not a regular file"),
        ("{tmp}/zero", "is not a regular file"),
    ],
    ids=["directory", "missing", "fifo", "device"],
)
def test_entrypoint_rejects_anything_but_a_regular_file_at_once(tmp_path, value, message):
    (tmp_path / "subdir").mkdir()
    os.mkfifo(tmp_path / "fifo")  # nobody writes to it: opening it for reading would block forever
    (tmp_path / "zero").symlink_to("/dev/zero")  # endless: reading it would never finish
    started = time.monotonic()
    result = entrypoint("echo", "ran", secrets=tmp_path, TOKEN_FILE=value.format(tmp=tmp_path))
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    assert result.stdout == ""
    assert message in result.stderr
    assert value.format(tmp=tmp_path) in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_entrypoint_follows_a_symlink_to_a_regular_file(tmp_path):
    """Kubernetes secret volumes hold symlinks into a ..data directory."""
    (tmp_path / "..data").mkdir()
    (tmp_path / "..data" / "token").write_text("k8s-value\n")
    (tmp_path / "token").symlink_to("..data/token")
    result = entrypoint("printenv", "TOKEN", secrets=tmp_path, TOKEN_FILE=str(tmp_path / "token"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "k8s-value\n"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOG_FILE", "/var/log/app.log"),
        ("CA_BUNDLE_FILE", "/etc/ssl/certs/ca-certificates.crt"),
        ("PGSSLROOTCERT_FILE", "/does/not/exist"),
        ("RELATIVE_FILE", "run/secrets/token"),
        ("EMPTY_FILE", ""),
    ],
)
def test_entrypoint_leaves_file_variables_outside_the_secrets_directories_alone(tmp_path, variable, value):
    name = variable.removesuffix("_FILE")
    result = entrypoint(
        "python3",
        "-c",
        f"import os; print(repr(os.environ[{variable!r}]), {name!r} in os.environ)",
        secrets=tmp_path,
        **{variable: value},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{value!r} False\n"


def test_entrypoint_maps_below_run_secrets_by_default():
    """Without ENTRYPOINT_SECRET_DIRS, a path below /run/secrets/ is a secret: on a host without
    such a file that is the missing-file error, proving the rule applies."""
    result = entrypoint("true", TOKEN_FILE="/run/secrets/dct-test-no-such-secret")
    assert result.returncode == 1
    assert result.stderr == "entrypoint: TOKEN_FILE: file '/run/secrets/dct-test-no-such-secret' does not exist\n"
    outside = entrypoint("printenv", "TOKEN_FILE", TOKEN_FILE="/run/secretsx/token")
    assert outside.stdout == "/run/secretsx/token\n"


def test_entrypoint_leaves_known_path_variables_alone(tmp_path):
    result = entrypoint("printenv", "SSL_CERT_FILE", secrets=tmp_path, SSL_CERT_FILE=f"{tmp_path}/does-not-exist")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path}/does-not-exist\n"


def test_entrypoint_ignore_list_can_be_replaced(tmp_path):
    nowhere = f"{tmp_path}/nowhere"
    ignored = entrypoint(
        "printenv", "MY_PATH_FILE", secrets=tmp_path, MY_PATH_FILE=nowhere, ENTRYPOINT_FILE_ENV_IGNORE="MY_PATH_FILE"
    )
    assert ignored.stdout == nowhere + "\n"
    replaced = entrypoint("true", secrets=tmp_path, SSL_CERT_FILE=nowhere, ENTRYPOINT_FILE_ENV_IGNORE="")
    assert replaced.returncode == 1
    assert "SSL_CERT_FILE" in replaced.stderr


def test_entrypoint_rejects_values_too_large_for_the_environment(tmp_path):
    big = tmp_path / "big"
    big.write_text("x" * 140_000)
    result = entrypoint("true", secrets=tmp_path, TOKEN_FILE=str(big))
    assert result.returncode == 1
    assert "too large" in result.stderr


def test_entrypoint_needs_a_command():
    result = entrypoint()
    assert result.returncode == 1
    assert result.stderr == "entrypoint: no command given\n"


# --------------------------------------------------------------------------------------
# the image, built for real


@pytest.fixture(scope="module")
def python_version(request) -> str:
    """The default Python version, or the one ``every_python`` gives the test."""
    return getattr(request, "param", DEFAULTS["python_version"])


@pytest.fixture(scope="module")
def podman(python_version) -> Podman:
    return images.podman_for(python_image(python_version))


@pytest.fixture(scope="module")
def base(podman, python_version) -> str:
    return images.base_image(podman, python_version)


@pytest.fixture(scope="module")
def config(podman, base) -> dict:
    return podman.inspect(base)["Config"]


def sh(podman, base, script: str, *, options=(), check=True) -> subprocess.CompletedProcess:
    return podman.run_image(base, "bash", "-c", script, options=options, check=check)


def readable_file(path: Path, text: str) -> Path:
    """A file to bind-mount that the container's unprivileged user can read."""
    path.write_text(text)
    path.chmod(0o644)
    return path


@container
def test_runs_as_the_unprivileged_app_user(podman, base, config):
    assert config["User"] == "1000:1000"
    result = sh(podman, base, "id -u; id -g; id -un; echo $HOME")
    assert result.stdout.split() == ["1000", "1000", "app", "/home/app"]


@container
@every_python
def test_python_is_the_version_of_the_tag(podman, base, python_version):
    result = sh(podman, base, "python --version; python3 -c 'import ssl, sqlite3, venv, zoneinfo'")
    assert result.stdout.startswith(f"Python {python_version}.")


@container
@every_python
def test_venv_is_first_on_path(podman, base):
    result = sh(podman, base, 'command -v python pip; python -c "import sys; print(sys.prefix)"')
    assert result.stdout.split() == ["/venv/bin/python", "/venv/bin/pip", "/venv"]


@container
def test_python_and_pip_environment(config):
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PIP_NO_CACHE_DIR"] == "1"
    assert env["VIRTUAL_ENV"] == "/venv"
    assert env["PATH"].startswith("/venv/bin:")
    assert config["WorkingDir"] == "/app"


@container
@every_python
def test_no_pip_cache_no_apt_lists_no_packages(podman, base):
    script = (
        "find /var/lib/apt/lists /var/cache/apt -mindepth 1 -type f -not -name lock; "
        "find / -xdev -type d -path '*/.cache/pip' 2>/dev/null; "
        "pip cache dir >/dev/null 2>&1 && echo 'pip cache enabled'; true"
    )
    result = sh(podman, base, script, options=["--user", "root"])
    assert result.stdout == ""


@container
def test_handy_tools_are_installed(podman, base):
    result = sh(
        podman,
        base,
        "make --version && curl --version && nano --version && test -r /usr/share/bash-completion/bash_completion",
    )
    assert result.stdout.startswith("GNU Make")


@container
def test_code_is_read_only_for_app_media_is_writable(podman, base):
    script = (
        "stat -c '%n %U:%G' /app /app/media /venv; "
        "touch /app/x 2>/dev/null && echo 'app writable'; "
        "touch /venv/bin/x 2>/dev/null && echo 'venv writable'; "
        "touch /app/media/upload && echo 'media writable'"
    )
    result = sh(podman, base, script)
    assert result.stdout.splitlines() == [
        "/app root:root",
        "/app/media app:app",
        "/venv root:root",
        "media writable",
    ]


@container
@every_python
def test_runs_with_a_read_only_root_filesystem(podman, base, tmp_path):
    secret = readable_file(tmp_path / "secret", "ro-secret")
    result = podman.run_image(
        base,
        "python",
        "-c",
        "import json, os; print(os.environ['TOKEN'])",
        options=["--read-only", "-v", f"{secret}:/run/secrets/token:ro", "-e", "TOKEN_FILE=/run/secrets/token"],
    )
    assert result.stdout == "ro-secret\n"


@container
def test_healthcheck_is_declared(podman, base, config):
    health = podman.inspect(base)["Healthcheck"]  # kept only in the docker image format
    assert health["Test"] == ["CMD", "/usr/local/bin/healthcheck"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["HEALTHCHECK_PATH"] == "/health/"
    assert "HEALTHCHECK_PORT" not in env  # it follows PORT, the port gunicorn binds


HEALTH_SERVER = """
import http.server, json, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200 if self.path == "/health/" else 503
        body = json.dumps({"status": "ok" if status == 200 else "failing"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["HEALTHCHECK_PORT"])), Handler).serve_forever()
"""


@container
def test_healthcheck_follows_its_environment(podman, base):
    env = {"HEALTHCHECK_PORT": "8123"}
    with podman.container(base, "python", "-c", HEALTH_SERVER, env=env, network="none") as ctr:
        deadline = time.monotonic() + 20  # the server needs a moment to listen
        while (healthy := ctr.healthcheck()).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        last = ctr.inspect()["State"]["Health"]["Log"][-1]["Output"]
        assert last.startswith('healthcheck: healthy: http://127.0.0.1:8123/health/ -> HTTP 200 {"status": "ok"}')

        failing = ctr.exec("healthcheck", options=["-e", "HEALTHCHECK_PATH=/broken/"], check=False)
        assert failing.returncode == 1
        assert failing.stdout.startswith("healthcheck: unhealthy: http://127.0.0.1:8123/broken/ -> HTTP 503")
        assert '"failing"' in failing.stdout

        nobody = ctr.exec("healthcheck", options=["-e", "HEALTHCHECK_PORT=8124"], check=False)
        assert nobody.returncode == 1
        assert "no answer from http://127.0.0.1:8124/health/" in nobody.stdout

        bad = ctr.exec("healthcheck", options=["-e", "HEALTHCHECK_PORT=80a"], check=False)
        assert bad.returncode == 1
        assert "HEALTHCHECK_PORT must be a port number" in bad.stdout


@container
def test_oci_labels(podman, base):
    labels = podman.labels(base)
    assert labels["org.opencontainers.image.source"] == BASE_IMAGE_LABEL_ARGS["IMAGE_SOURCE"]
    assert labels["org.opencontainers.image.revision"] == BASE_IMAGE_LABEL_ARGS["IMAGE_REVISION"]
    assert labels["org.opencontainers.image.created"] == BASE_IMAGE_LABEL_ARGS["IMAGE_CREATED"]
    assert labels["org.opencontainers.image.version"] == BASE_IMAGE_LABEL_ARGS["IMAGE_VERSION"]
    assert labels["org.opencontainers.image.title"] == "django-base-image"
    assert labels["org.opencontainers.image.description"]


@container
def test_entrypoint_maps_file_variables(podman, base, tmp_path):
    secret = readable_file(tmp_path / "db_password", "s3cret-value\n")
    result = podman.run_image(
        base,
        "sh",
        "-c",
        'printf "%s|%s" "$DATABASE_PASSWORD" "${DATABASE_PASSWORD_FILE-unset}"',
        options=[
            "-v",
            f"{secret}:/run/secrets/db_password:ro",
            "-e",
            "DATABASE_PASSWORD_FILE=/run/secrets/db_password",
        ],
    )
    assert result.stdout == "s3cret-value|unset"
    assert "s3cret" not in result.stderr


@container
def test_entrypoint_fails_clearly_on_a_missing_file(podman, base):
    result = podman.run_image(
        base, "echo", "ran", options=["-e", "DATABASE_PASSWORD_FILE=/run/secrets/nope"], check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == ("entrypoint: DATABASE_PASSWORD_FILE: file '/run/secrets/nope' does not exist\n")


@container
def test_entrypoint_fails_clearly_on_an_unreadable_file(podman, base, tmp_path):
    secret = tmp_path / "api_key"
    secret.write_text("top-secret")
    secret.chmod(0o600)  # owned by root, so the container's app user cannot read it
    if os.geteuid() != 0:
        pytest.skip("rootless podman maps the host user to root in the container: the file is readable")
    result = podman.run_image(
        base,
        "echo",
        "ran",
        options=["-v", f"{secret}:/run/secrets/api_key:ro", "-e", "API_KEY_FILE=/run/secrets/api_key"],
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "entrypoint: API_KEY_FILE: cannot read '/run/secrets/api_key' as user app (check its permissions)\n"
    )


@container
def test_cron_runner_is_present_or_reported_missing(podman, base):
    choice = images.cron_runner_choice()
    found = sh(podman, base, "command -v supercronic", check=False)
    if not choice.install:
        assert found.returncode != 0, "supercronic is in the image although the build left it out"
        pytest.skip(choice.note)
    assert found.stdout.strip() == "/usr/local/bin/supercronic"
    version = podman.run_image(base, "supercronic", "-version")
    assert version.returncode == 0


@container
def test_supercronic_runs_a_crontab_in_the_foreground(podman, base, tmp_path):
    choice = images.cron_runner_choice()
    if not choice.install:
        pytest.skip(choice.note)
    crontab = tmp_path / "crontab"
    # Seven fields: every second (supercronic's seconds and years extension).
    crontab.write_text('* * * * * * * echo "cron ran as $(id -un) with $GREETING"\n')
    crontab.chmod(0o644)
    greeting = readable_file(tmp_path / "greeting", "hello-from-a-file")
    result = podman.run_image(
        base,
        "timeout",
        "-s",
        "INT",
        "4",
        "supercronic",
        "-split-logs",
        "/etc/crontab",
        options=[
            "-v",
            f"{crontab}:/etc/crontab:ro",
            "-v",
            f"{greeting}:/run/secrets/greeting:ro",
            "-e",
            "GREETING_FILE=/run/secrets/greeting",
        ],
        check=False,
        timeout=60,
    )
    assert "cron ran as app with hello-from-a-file" in result.stdout, result.stdout + result.stderr


@container
@every_python
def test_pip_reaches_pypi_from_a_container(podman, base):
    result = podman.run_image(
        base, "pip", "download", "--no-deps", "--dest", "/tmp/dl", "six==1.17.0", check=False, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Saved /tmp/dl/six-1.17.0-py2.py3-none-any.whl" in result.stdout


def make_wheel(directory: Path) -> Path:
    """A tiny, byte-for-byte reproducible wheel (so the layer cache holds across runs)."""
    files = {
        "demo_pkg/__init__.py": "ANSWER = 42\n",
        "demo_pkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 0.1\n",
        "demo_pkg-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("demo_pkg-0.1.dist-info/RECORD,,")
    files["demo_pkg-0.1.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / "demo_pkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, text)
    return wheel


@container
@every_python
def test_a_project_build_follows_the_documented_pattern(podman, base, python_version, tmp_path):
    """USER root, pip install into /venv, code copied as root, compileall, USER app."""
    make_wheel(tmp_path)
    (tmp_path / "app_module.py").write_text("from demo_pkg import ANSWER\n")
    (tmp_path / "Containerfile").write_text(
        f"FROM {base}\n"
        "USER root\n"
        "COPY demo_pkg-0.1-py3-none-any.whl /tmp/wheels/\n"
        "RUN python -m pip install --no-index /tmp/wheels/demo_pkg-0.1-py3-none-any.whl && rm -r /tmp/wheels\n"
        "COPY app_module.py /app/\n"
        "RUN python -m compileall -q /app\n"
        "USER app\n"
    )
    tag = f"localhost/dct-test-base-derived:{python_version}"
    podman.build(tmp_path, tag, file=tmp_path / "Containerfile")
    script = (
        "python -c 'import app_module; print(app_module.ANSWER)'; "
        "stat -c '%U' /app/app_module.py; "
        "ls /app/__pycache__ /venv/lib/python3*/site-packages/demo_pkg/__pycache__; "
        "ls -d /root/.cache/pip 2>/dev/null; true"
    )
    result = podman.run_image(tag, "bash", "-c", script, options=["--read-only", "--user", "root"])
    lines = result.stdout.split()
    assert lines[:2] == ["42", "root"]
    assert any(line.startswith("app_module.cpython-") for line in lines)
    assert any(line.startswith("__init__.cpython-") for line in lines)
    assert "/root/.cache/pip" not in result.stdout
    assert podman.inspect(tag)["Config"]["User"] == "app"
