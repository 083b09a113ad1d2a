"""Celery tasks of the core app, found by the app's autodiscover_tasks() (config/celery.py)."""

from celery import shared_task
from django.core.management import call_command


@shared_task
def clear_expired_sessions():
    """Delete expired sessions. Scheduled daily in settings.CELERY_BEAT_SCHEDULE."""
    call_command("clearsessions")


@shared_task
def greet(name):
    """An example task: replace it with real work."""
    return f"Hello, {name}!"
