"""The exceptions a user can cause. All derive from :class:`ECGCoreError`, whose message names the
problem and says what to do; the CLI prints it (exit 2) and the app shows it with ``st.error``."""

from __future__ import annotations


class ECGCoreError(Exception):
    """Base of every error a user can cause and fix."""


class DataError(ECGCoreError):
    """A dataset problem: missing folder/file/column, corrupt or wrong-format record, NaN samples."""


class LabelError(ECGCoreError, ValueError):
    """A label set name or an scp_codes value that cannot be used."""


class FoldError(ECGCoreError, ValueError):
    """An unknown fold plan or fold index."""


class ModelError(ECGCoreError, ValueError):
    """An unknown model name or a bad model option."""


class CheckpointError(ECGCoreError):
    """A checkpoint that is missing, corrupt, unsafe or does not fit what is asked of it."""


class RunError(ECGCoreError):
    """A run that cannot be started, resumed or read as asked."""


class ResultsError(ECGCoreError):
    """A results file that is missing or cannot be read."""


class UploadError(ECGCoreError):
    """An uploaded record or CSV that cannot be used."""


class DownloadError(ECGCoreError):
    """A PTB-XL download that cannot start or did not complete (server, checksum, disk, target folder)."""


class StorageError(ECGCoreError, OSError):
    """A write the machine refused: no space left, a read-only or forbidden folder, or a file where a
    folder should be. Also an :class:`OSError` (with ``errno`` and ``filename``), so code that handles
    a failed write as an OSError keeps doing so; ``str()`` is the one-line message."""

    def __init__(self, message: str, err: int | None = None, filename: str | None = None):
        OSError.__init__(self, err, message, filename)
        self.message = message

    def __str__(self) -> str:
        return self.message


USER_ERRORS = (ECGCoreError,)
