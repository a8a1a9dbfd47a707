"""Who the running interpreter is: the one identity probe, on every Python gilbench runs.

discovery runs this file's source with each interpreter it finds, and the
countdown and GIL probes import it beside them when another interpreter runs
them as files: so it is CPython 2.7, PyPy and Jython 2.7 code that imports
nothing of gilcore and nothing at module level but sys.
"""
import sys


def facts():
    """implementation, version, implementation_version, free_threaded, gil (and where that answer
    came from), executable and the build's CONFIG_ARGS.

    sys._is_gil_enabled (3.13+) is a measurement: on a free-threaded build an
    incompatible extension can switch the GIL back on. Before 3.13 every
    CPython and PyPy runs with a GIL; Jython has none at all.
    """
    try:
        import platform
        impl = platform.python_implementation().lower()
    except Exception:
        impl = 'cpython'
    if sys.platform.startswith('java'):
        impl = 'jython'
    v = sys.version_info
    ver = '%d.%d.%d' % (v[0], v[1], v[2])
    pv = getattr(sys, 'pypy_version_info', None)
    impl_ver = pv and '%d.%d.%d' % (pv[0], pv[1], pv[2]) or ver
    ft, flags = 0, ''
    try:
        import sysconfig
        ft = sysconfig.get_config_var('Py_GIL_DISABLED') or 0
        flags = sysconfig.get_config_var('CONFIG_ARGS') or ''
    except Exception:  # Jython 2.7's sysconfig may be missing or partial
        pass
    f = getattr(sys, '_is_gil_enabled', None)
    if impl == 'jython':
        gil, source, ft = 'none', 'implementation', 1  # no GIL to disable: its threads always run in parallel
    elif f is not None:
        gil, source = ('enabled' if f() else 'disabled'), 'sys._is_gil_enabled'
    else:
        gil, source = 'enabled', 'implementation'
    return {'implementation': impl, 'version': ver, 'implementation_version': impl_ver, 'free_threaded': bool(ft),
            'gil': gil, 'gil_source': source, 'executable': sys.executable or '', 'config_args': flags}
