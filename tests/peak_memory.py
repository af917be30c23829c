"""A child process's own peak RSS, reported by the child as it exits.

Not `ru_maxrss`: Python's subprocess starts a child with vfork + exec on Linux, and exec keeps the
high-water mark of the memory the child shared with its parent until then. Every child of a
process that once held 2 GiB would report at least 2 GiB, so two runs would compare the parent's
peak with itself. `VmHWM` belongs to the child's own address space.
"""

from __future__ import annotations

# Prepended to a child's program: at exit it writes `peak_rss_kib N` to stderr.
REPORT_AT_EXIT = """import atexit as _atexit, sys as _sys
def _report_peak_rss():
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    _sys.stderr.write(f"\\npeak_rss_kib {kib}\\n")
_atexit.register(_report_peak_rss)
"""


def peak_rss_mib(stderr: str) -> float:
    """The peak the child reported on its stderr, in MiB."""
    return int(stderr.rsplit("peak_rss_kib", 1)[1].split()[0]) / 1024
