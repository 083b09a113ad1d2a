"""The names a slug must not take (scripts/reserved_names.py) are current in the hook.

``make lock`` writes them into hooks/pre_gen_project.py. These tests catch a hook that lags
behind its lock files or template tree, and check how names are read from real wheels.
"""

from __future__ import annotations

import re
from importlib import metadata

import pytest
from packaging.utils import canonicalize_name

from hooks import pre_gen_project
from scripts import reserved_names
from tests.answers import TEMPLATE_DIR

PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)", re.MULTILINE)


def test_the_hook_holds_every_pin_of_every_lock_file():
    """Every name==version the lock templates pin (all variants' blocks) is in the hook, and nothing else."""
    pins = set()
    for name in reserved_names.LOCK_FILES:
        text = (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / name).read_text()
        pins |= {f"{canonicalize_name(m['name'])}=={m['version']}" for m in PIN.finditer(text)}

    assert set(pre_gen_project.RESERVED["locked_distributions"]) == pins, "run `make lock`"


def test_the_hook_holds_the_template_trees_names():
    assert pre_gen_project.RESERVED["project_names"] == reserved_names.project_names(), (
        "run `.venv/bin/python scripts/reserved_names.py`"
    )


def test_the_generated_block_is_written_exactly_as_the_script_writes_it():
    hook = reserved_names.HOOK.read_text()
    block = hook.split(reserved_names.BEGIN, 1)[1].split(reserved_names.END, 1)[0]
    current = reserved_names.current_distributions(hook)

    assert reserved_names.BEGIN + block + reserved_names.END == reserved_names.generated_block(current)


@pytest.mark.parametrize(
    ("distribution", "names"),
    [("pluggy", {"pluggy"}), ("pytest", {"pytest", "_pytest", "py"}), ("python-slugify", {"slugify"})],
)
def test_top_level_names_come_from_the_installed_record(distribution, names):
    """Read from real RECORD files of the template's own tools (requirements-dev.txt)."""
    record = metadata.distribution(distribution).read_text("RECORD")

    assert reserved_names.record_top_levels(record) == names


def test_scripts_data_and_dist_info_are_not_import_names():
    record = "\n".join(
        [
            "acme/__init__.py,sha256=x,1",
            "acme_ext.cpython-312-x86_64-linux-gnu.so,sha256=x,1",
            "acme-1.0.dist-info/RECORD,,",
            "acme-1.0.data/scripts/acme,sha256=x,1",
            "../../bin/acme,sha256=x,1",
            "bin/acme,sha256=x,1",
            "acme-nspkg.pth,sha256=x,1",
            "__pycache__/acme.cpython-312.pyc,,",
        ]
    )

    assert reserved_names.record_top_levels(record) == {"acme", "acme_ext"}


def test_environment_markers_are_dropped_and_hashes_kept():
    lock = (
        'colorama==0.4.6 ; sys_platform == "win32" \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n'
        "django==5.2.19 \\\n    --hash=sha256:cc\n"
    )

    assert reserved_names.without_markers(lock) == (
        "colorama==0.4.6 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\ndjango==5.2.19 \\\n    --hash=sha256:cc\n"
    )
