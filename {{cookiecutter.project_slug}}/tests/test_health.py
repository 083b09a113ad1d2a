import pytest

from .processes import DATABASE_DOWN


@pytest.mark.django_db
def test_health_is_ok_when_database_and_cache_answer(client, settings):
    settings.COMMIT_HASH = "abc123"

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "commit": "abc123", "checks": {"database": "ok", "cache": "ok"}}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_health_needs_no_allowed_host_or_https(client, settings):
    settings.ALLOWED_HOSTS = ["www.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/health/", headers={"host": "10.0.0.7:8000"})

    assert response.status_code == 200


@pytest.mark.fresh_process(DATABASE_DOWN)
def test_health_is_503_naming_the_database_when_it_is_down():
    health = DATABASE_DOWN.printed_json()["health"]

    assert health["status"] == 503
    body = health["body"]
    assert body["status"] == "error"
    assert body["checks"]["database"].startswith("error: OperationalError")
    assert body["checks"]["cache"] == "ok"
