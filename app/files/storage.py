"""Where uploaded bytes live. Local disk now; an object store later implements the same four
methods, and nothing else in the code knows the difference."""
import os
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app


class FileStorage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


class LocalFileStorage:
    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

    def save(self, key, data):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # write-then-rename so a reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def read(self, key):
        return self._path(key).read_bytes()

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def exists(self, key):
        return self._path(key).exists()


def storage() -> FileStorage:
    app = current_app._get_current_object()
    if "file_storage" not in app.extensions:
        app.extensions["file_storage"] = LocalFileStorage(app.config["UPLOAD_DIR"])
    return app.extensions["file_storage"]
