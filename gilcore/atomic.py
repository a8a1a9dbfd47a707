"""Write a file so that readers see the old version or the new one, never half of one."""
from __future__ import annotations

import os
import secrets
from typing import Tuple, Union


def write_atomic(path: str, data: Union[str, bytes]) -> None:
    """Write to a temp file in the same folder, fsync it, then rename over ``path``.

    The file gets the mode a plain ``open(path, "w")`` gives a new file, 0666
    less the umask (0644 under 0022), not mkstemp's 0600: a report or a site
    is often served by a web server running as another user.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = _new_temp_file(folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def _new_temp_file(folder: str) -> Tuple[int, str]:
    """A file of a new random name in ``folder``, created (O_EXCL) with 0666 for the umask to trim."""
    while True:
        temp = os.path.join(folder, f".gilcore-{secrets.token_hex(8)}.part")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), temp
        except FileExistsError:  # 64 random bits taken already: draw again
            continue
