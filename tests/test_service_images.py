"""The service images the generated project's stacks run (postgres:17, redis:8), official or
stand-in (tests/containers), keep the official images' contract; and containers on a
user-defined network of the isolated store reach each other by name (netavark, aardvark-dns).
"""

from __future__ import annotations

import time

import pytest

from tests.containers import registry
from tests.containers.images import podman_for
from tests.containers.podman import Container

pytestmark = pytest.mark.container

POSTGRES = "postgres:17"
REDIS = "redis:8"


def wait_until_ok(container: Container, *cmd: str, timeout: float = 60) -> str:
    """Run ``cmd`` in the container until it succeeds; return its output."""
    deadline = time.monotonic() + timeout
    while True:
        result = container.exec(*cmd, check=False, timeout=30)
        if result.returncode == 0:
            return result.stdout
        if time.monotonic() > deadline or not container.is_running():
            pytest.fail(f"{' '.join(cmd)} never succeeded: {result.stdout}{result.stderr}\n{container.logs()[-3000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def podman():
    return podman_for(POSTGRES, REDIS)


def test_containers_on_a_network_reach_each_other_by_name(podman):
    image = registry.provide(podman, REDIS)
    with podman.network() as network, podman.container(image, network=network, name=f"{network}-cache") as server:
        wait_until_ok(server, "redis-cli", "ping")
        client = podman.run_image(image, "redis-cli", "-h", server.name, "ping", options=[f"--network={network}"])
        unnamed = podman.run_image(
            image, "redis-cli", "-h", server.name, "ping", options=["--network=none"], check=False
        )

    assert client.stdout.strip() == "PONG"
    assert unnamed.returncode != 0, "the name resolved without the network"


def test_postgres_initialises_its_user_database_and_password_from_a_file(podman, tmp_path):
    image = registry.provide(podman, POSTGRES)
    password = tmp_path / "password"
    password.write_text("s3cret-from-a-file\n")
    password.chmod(0o644)
    env = {"POSTGRES_USER": "app", "POSTGRES_DB": "appdb", "POSTGRES_PASSWORD_FILE": "/run/secrets/password"}
    options = [f"--volume={password}:/run/secrets/password:ro"]
    with (
        podman.network() as network,
        podman.container(image, env=env, network=network, options=options, name=f"{network}-db") as db,
    ):
        wait_until_ok(db, "pg_isready", "-h", "127.0.0.1", "-U", "app", "-d", "appdb")
        query = ["psql", "-h", db.name, "-U", "app", "-d", "appdb", "-tAc", "SELECT current_user, current_database()"]
        right = podman.run_image(image, *query, options=[f"--network={network}", "-e", "PGPASSWORD=s3cret-from-a-file"])
        wrong = podman.run_image(image, *query, options=[f"--network={network}", "-e", "PGPASSWORD=wrong"], check=False)
        version = db.exec("postgres", "--version").stdout

    assert right.stdout.strip() == "app|appdb"
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr
    assert version.split()[-1].startswith("17.")


def test_postgres_refuses_to_initialise_without_a_password(podman):
    image = registry.provide(podman, POSTGRES)
    result = podman.run_image(image, options=["--network=none"], check=False, timeout=60)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_redis_answers_on_6379(podman):
    image = registry.provide(podman, REDIS)
    with podman.container(image, network="none") as server:
        assert wait_until_ok(server, "redis-cli", "-p", "6379", "ping").strip() == "PONG"
        version = server.exec("redis-server", "--version").stdout
    assert "v=" in version
