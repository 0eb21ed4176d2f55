"""Shared source text for the benchmarks' child processes: their peak resident memory.

``PEAK_MB`` defines ``peak_mb()``: the peak RSS of the calling process in MiB, Linux
``VmHWM`` (getrusage's ``ru_maxrss`` is inherited from the parent across fork + exec on
Linux, so it would report the parent's peak; it is only the fallback).  The benchmarks put
it at the top of the code they run with ``python -c``.
"""

PEAK_MB = r'''
def peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
'''
