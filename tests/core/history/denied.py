"""A folder this process really cannot write to, even when the tests run as root."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_CAPABILITY_VERSION_3 = 0x20080522
_CAP_DAC_OVERRIDE = 1


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _set_dac_override(enabled: bool) -> None:
    """Raise or lower CAP_DAC_OVERRIDE in this thread's effective set (Linux).

    Threads started while it is lowered inherit that, as the history worker
    and the reply writer do. It stays in the permitted set, so it can be raised
    again afterwards.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    header = _Header(_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    if enabled:
        data[0].effective |= 1 << _CAP_DAC_OVERRIDE
    else:
        data[0].effective &= ~(1 << _CAP_DAC_OVERRIDE)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only (r-x for its owner) for the duration.

    Root ignores permissions, so as root the capability that lets it do that is
    lowered for this thread (and the threads it starts) meanwhile; where that is
    not possible the test is skipped.
    """
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root and not sys.platform.startswith("linux"):
        pytest.skip("permissions cannot be enforced for root here")
    folder.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(folder.stat().st_mode)
    folder.chmod(0o500)
    try:
        if as_root:
            try:
                _set_dac_override(False)
            except OSError:
                pytest.skip("permissions cannot be enforced for root here")
        try:
            with contextlib.suppress(PermissionError):
                (folder / ".probe").touch()
                pytest.fail("the folder should be read-only")
            yield
        finally:
            if as_root:
                _set_dac_override(True)
    finally:
        folder.chmod(mode)
