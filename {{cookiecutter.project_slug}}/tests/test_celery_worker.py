"""A real Celery worker process takes a task from the real Redis broker and stores its result.

Uses CELERY_BROKER_URL (default redis://127.0.0.1:6379/0). When no Redis answers there the
test is skipped, with the reason; with REQUIRE_SERVICES=1 (as in CI) it fails instead.
Each run has a queue and worker name of its own, so runs in parallel on one Redis never
take each other's tasks. The worker starts as soon as its test is collected, so that it boots
while the other tests run, and its test runs after them (tests/processes.py).
"""

import os
import re
import signal
import subprocess
import time
import tomllib
import uuid

import pytest
import redis
from django.conf import settings
from kombu import Exchange, Queue
from kombu.utils.url import maybe_sanitize_url

from {{ cookiecutter.project_slug }}.core.tasks import greet

from .processes import PROJECT_DIR, FreshProcess

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


QUEUE = f"test-{uuid.uuid4().hex}"


def worker_warnings():
    """The warning filters of these tests (pyproject.toml), for the worker: a warning stops it."""
    options = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    warnings = list(options["filterwarnings"])
    if os.geteuid() == 0:  # a CI machine, not the image (which runs as the app user)
        warnings.append("ignore:You're running the worker with superuser privileges")
    return ",".join(warnings)


# `celery -A config worker` on the queue: the testing settings, but tasks not eager; this
# process's environment (CELERY_BROKER_URL). Started early (tests/processes.py).
WORKER = FreshProcess(
    *("-X", "dev", "-m", "celery", "--app", "config", "worker", "--pool", "solo"),
    *("--queues", QUEUE, "--hostname", f"{QUEUE}@%h"),
    # Alone: no talk with other workers that may share this Redis.
    *("--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"),
    inherit=True,
    CELERY_TASK_ALWAYS_EAGER="false",
    PYTHONWARNINGS=worker_warnings(),
)


@pytest.fixture
def queue():
    """The worker's queue, emptied and removed from Redis afterwards."""
    require_redis(settings.CELERY_BROKER_URL)
    yield QUEUE
    with app.connection_for_write() as connection:
        queue = Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE, channel=connection.default_channel)
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
def worker():
    return WORKER.start()


def wait_for(worker, condition, what):
    """Poll until condition() holds; fail with the worker's log when it exits first, or after TASK_TIMEOUT."""
    deadline = time.monotonic() + TASK_TIMEOUT
    while not condition():
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited ({worker.process.returncode}) while waiting for {what}:\n{worker.log()}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {TASK_TIMEOUT} s for {what} in vain:\n{worker.log()}")
        time.sleep(0.01)


@pytest.mark.fresh_process(WORKER)
def test_a_worker_runs_the_example_task_through_redis(queue, through_the_broker, worker):
    wait_for(worker, lambda: " ready." in worker.log(), "the worker to be ready")
    result = greet.apply_async(args=["Redis"], queue=queue)
    # The solo pool runs a task in the very callback that logs its receipt: from this line on,
    # the worker holds the task.
    received = f"Task {greet.name}[{result.id}] received"
    wait_for(worker, lambda: received in worker.log(), "the worker to receive the task")

    # A warm shutdown, as `docker stop` sends, once the worker holds the task: it finishes the
    # task first. Where the task is done by then, the idle worker sees the signal at its next
    # poll of Redis: a tenth of a second with the testing settings' broker options.
    worker.process.send_signal(signal.SIGTERM)
    try:
        returncode = worker.process.wait(timeout=SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker did not stop within {SHUTDOWN_TIMEOUT} s of SIGTERM:\n{worker.log()}")
    log = worker.log()
    assert returncode == 0, log
    assert result.get(timeout=5) == "Hello, Redis!", log  # stored before the worker stopped
    result.forget()
    assert f"Task {greet.name}[{result.id}] succeeded" in log
    assert "Warning" not in log
    assert not re.search(r"\b(ERROR|CRITICAL)/", log), log  # e.g. a receiver of config/celery.py that raised
