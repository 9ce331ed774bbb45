"""Finding dataset files, and fetching them from their canonical homes: verified, cached, never partial.

A file is looked for in ``--data-dir``, then ``$ACTLAB_DATA``, then the per-user cache
(``$XDG_CACHE_HOME/actlab`` or ``~/.cache/actlab``), each under the dataset's folder. If it is in none of
them it is downloaded into the cache: into a temporary file beside the destination, checked against its
size and MD5, and only then renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actlab.errors import ActlabError
from actlab.paths import cache_dir


class DatasetError(ActlabError, RuntimeError):
    """A dataset file that is missing, corrupt, truncated or in an unexpected format."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset as its authors distribute it."""

    name: str
    md5: str
    size: int
    urls: tuple[str, ...]


def search_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    if os.environ.get("ACTLAB_DATA"):
        dirs.append(Path(os.environ["ACTLAB_DATA"]))
    dirs.append(cache_dir())
    return dirs


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, remote: RemoteFile) -> None:
    """Raise :class:`DatasetError` unless ``path`` has the expected size and MD5."""
    size = path.stat().st_size
    if size != remote.size:
        raise DatasetError(
            f"{path}: {size} bytes, expected {remote.size} (truncated or wrong file); delete it to re-download"
        )
    digest = md5sum(path)
    if digest != remote.md5:
        raise DatasetError(
            f"{path}: MD5 {digest}, expected {remote.md5} (corrupt or wrong file); delete it to re-download"
        )


def candidates(folder: str, name: str, data_dir: str | os.PathLike | None) -> list[Path]:
    """Where a dataset file is looked for, in order: in each search folder, under the dataset's own folder
    (``DIR/mnist/FILE``) or directly (``DIR/FILE``, when ``DIR`` is the dataset folder itself)."""
    return [path for base in search_dirs(data_dir) for path in (base / folder / name, base / name)]


def locate(
    folder: str,
    remote: RemoteFile,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    check: bool = True,
) -> Path:
    """Path of a verified copy of ``remote`` (found, or downloaded into the cache)."""
    for candidate in candidates(folder, remote.name, data_dir):
        if candidate.is_file():
            if check:
                verify(candidate, remote)
            return candidate
    looked = ", ".join(str(base) for base in search_dirs(data_dir))
    where = f"put the original files in DIR/{folder}/ (or in DIR itself) and pass --data-dir DIR or set ACTLAB_DATA=DIR"
    if not download:
        raise DatasetError(
            f"{folder}: {remote.name} not found (looked in {looked}, each with and without {folder}/) "
            f"and downloading is off; {where}"
        )
    try:
        return fetch(remote, cache_dir() / folder / remote.name)
    except DatasetError as error:
        raise DatasetError(
            f"{folder}: {remote.name} not found (looked in {looked}, each with and without {folder}/) "
            f"and {error}; {where}"
        ) from None


def fetch(remote: RemoteFile, destination: Path, urls: Sequence[str] | None = None) -> Path:
    """Download ``remote`` to ``destination`` atomically; try each mirror until one gives the right bytes.
    On failure nothing is left behind: no partial file, no folder created for it."""
    created = [folder for folder in (destination.parent, *destination.parent.parents) if not folder.exists()]
    destination.parent.mkdir(parents=True, exist_ok=True)
    problems = []
    for url in urls or remote.urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{remote.name}.", suffix=".part", dir=destination.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, out, length=1 << 20)
            verify(tmp, remote)
            os.replace(tmp, destination)
            return destination
        except (OSError, DatasetError) as error:
            problems.append(f"{url}: {_one_line(error)}")
        finally:
            tmp.unlink(missing_ok=True)
    for folder in created:  # innermost first
        try:
            folder.rmdir()
        except OSError:
            break
    raise DatasetError(f"could not download it ({'; '.join(problems)})")


def _one_line(error: Exception) -> str:
    reason = getattr(error, "reason", None)  # urllib's URLError wraps the socket error
    return " ".join(str(reason if reason is not None else error).split())
