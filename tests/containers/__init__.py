"""Containers for the template's tests, in an isolated, cached podman store.

- ``store``: the isolated store and its configuration files;
- ``podman``: the podman wrapper (Podman, Container, wait_http, free_port);
- ``standins``: the table of stand-ins for the official images, and how each is built;
- ``registry``: whether a run uses the real images or the stand-ins, and pulling them;
- ``images``: the base image and the generated project's images.

``python -m tests.containers env`` prints the isolated store's environment as shell exports
(scripts/podman-env uses it).
"""
