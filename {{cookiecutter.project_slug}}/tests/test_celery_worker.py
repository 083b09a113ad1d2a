"""A real Celery worker process takes a task from the real Redis broker and stores its result.

Uses CELERY_BROKER_URL (default redis://127.0.0.1:6379/0). When no Redis answers there the
test is skipped, with the reason; with REQUIRE_SERVICES=1 (as in CI) it fails instead.
Each run has a queue and worker name of its own, so runs in parallel on one Redis never
take each other's tasks.
"""

import os
import signal
import subprocess
import sys
import time
import tomllib
import uuid

import pytest
import redis
from django.conf import settings
from kombu import Exchange, Queue
from kombu.utils.url import maybe_sanitize_url

from {{ cookiecutter.project_slug }}.core.tasks import greet

from .conftest import PROJECT_DIR

app = greet.app  # the project's Celery app, config.celery.app: shared tasks use the current one

pytestmark = pytest.mark.redis

TASK_TIMEOUT = 60  # seconds for the worker to start and run the task
SHUTDOWN_TIMEOUT = 30  # seconds for a warm shutdown


def require_redis(url):
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except redis.RedisError as error:
        reason = f"no Redis answers at {maybe_sanitize_url(url)} ({error})"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def queue():
    """A queue of this run's own, emptied and removed from Redis afterwards."""
    require_redis(settings.CELERY_BROKER_URL)
    name = f"test-{uuid.uuid4().hex}"
    yield name
    with app.connection_for_write() as connection:
        queue = Queue(name, Exchange(name), routing_key=name, channel=connection.default_channel)
        queue.declare()  # kombu deletes the bindings this channel knows of: declare them first
        queue.delete()


@pytest.fixture
def through_the_broker():
    """Send tasks to the broker from this process, instead of running them eagerly."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager
    app.close()  # the connections to Redis


@pytest.fixture
def worker(queue, tmp_path):
    """`celery -A config worker` on the queue: the testing settings, but tasks not eager."""
    log_path = tmp_path / "worker.log"
    command = [
        sys.executable,
        "-X",
        "dev",
        "-m",
        "celery",
        "--app",
        "config",
        "worker",
        "--pool",
        "solo",
        "--queues",
        queue,
        "--hostname",
        f"{queue}@%h",
        # Alone: no talk with other workers that may share this Redis.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
    ]
    # The warning filters of these tests (pyproject.toml): a warning stops the worker.
    warnings = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    warnings = list(warnings["filterwarnings"])
    if os.geteuid() == 0:  # a CI machine, not the image (which runs as the app user)
        warnings.append("ignore:You're running the worker with superuser privileges")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.testing",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONWARNINGS": ",".join(warnings),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - runs this project's own Celery app
            command, cwd=PROJECT_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    process.log = lambda: log_path.read_text()
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=SHUTDOWN_TIMEOUT)


def test_a_worker_runs_the_example_task_through_redis(queue, through_the_broker, worker):
    result = greet.apply_async(args=["Redis"], queue=queue)

    deadline = time.monotonic() + TASK_TIMEOUT
    while not result.ready():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) before running the task:\n{worker.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no result within {TASK_TIMEOUT} s:\n{worker.log()}")
        time.sleep(0.1)
    assert result.get(timeout=5) == "Hello, Redis!"
    result.forget()

    worker.send_signal(signal.SIGTERM)  # a warm shutdown, as `docker stop` sends
    try:
        returncode = worker.wait(timeout=SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker did not stop within {SHUTDOWN_TIMEOUT} s of SIGTERM:\n{worker.log()}")
    log = worker.log()
    assert returncode == 0, log
    assert f"Task {greet.name}[{result.id}] succeeded" in log
    assert "Warning" not in log
