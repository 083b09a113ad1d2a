"""gunicorn's settings, read from the environment. gunicorn loads this file from /app."""

import ipaddress
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Threads: a client that sends its request slowly holds one thread, not a whole worker, so a
# handful of slow clients leave the health probe and other requests served. Many more slow
# clients than WEB_CONCURRENCY x GUNICORN_THREADS need a buffering proxy in front (docs).
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Shorter than a container runtime's usual 10 s stop timeout, so that SIGTERM ends in-flight
# requests cleanly before SIGKILL would.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "8"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
# Heartbeat files in memory: works with a read-only root filesystem.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - a tmpfs, not a shared temp directory
# The control socket (gunicornc) would be created under $HOME, which is read-only in production.
control_socket_disable = True
accesslog = "-"
errorlog = "-"

# ---- Forwarded headers ----------------------------------------------------------------
# Only the proxy in front may say what the client's scheme, address and host were. Its
# addresses (or networks) are FORWARDED_ALLOW_IPS, comma-separated; by default only this
# container itself. From any other peer the forwarding headers are dropped before Django
# sees them, and gunicorn ignores its scheme headers (wsgi.url_scheme stays "http").
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}
FORWARDING_HEADERS = frozenset(
    {
        "FORWARDED",
        "X-FORWARDED-FOR",
        "X-FORWARDED-HOST",
        "X-FORWARDED-PORT",
        "X-FORWARDED-PREFIX",
        "X-FORWARDED-PROTO",
        "X-FORWARDED-PROTOCOL",
        "X-FORWARDED-SSL",
        "X-REAL-IP",
    }
)


def trusted_proxy(peer, allowed):
    """Whether a peer address (a (host, port) tuple; a Unix socket's is not) is in allowed."""
    if "*" in allowed or not isinstance(peer, tuple):
        return True
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allowed)


def pre_request(worker, req):
    """Drop the forwarding headers of a request that did not come from a trusted proxy."""
    if not trusted_proxy(req.peer_addr, worker.cfg.forwarded_allow_ips):
        req.headers = [(name, value) for name, value in req.headers if name not in FORWARDING_HEADERS]
    worker.log.debug("%s %s", req.method, req.path)
