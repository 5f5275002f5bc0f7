"""PTB-XL from PhysioNet's release zip (``download --from_zip``): the files of one sampling rate
extracted into the release layout, each checked against the zip's own SHA256SUMS.txt."""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from ecgcore.download import (
    DEFAULT_VERSION,
    SUMS_FILE,
    DownloadResult,
    DownloadStatus,
    Tracker,
    VerifiedCache,
    _disk_message,
    _job,
    _save_quietly,
    check_out,
    default_out,
    parse_sums,
    select,
)
from ecgcore.download_http import CHUNK, _short
from ecgcore.errors import DownloadError


def extract_zip(
    zip_path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    version: str = DEFAULT_VERSION,
    sampling_rate: str = "100",
    progress: Callable[[DownloadStatus], None] | None = None,
    stop: threading.Event | None = None,
) -> DownloadResult:
    """Extract the files of ``sampling_rate`` from PhysioNet's release zip (files under one top
    folder, e.g. ``ptb-xl-a-large-…-1.0.3/``) into ``out``, each checked against the zip's own
    SHA256SUMS.txt. Files already there and verified are skipped; a mismatch is reported (``bad``)."""
    out = Path(out).expanduser() if out else default_out(version)
    stop = stop or threading.Event()
    select([], sampling_rate)
    with _job(out, progress) as (tracker, holder):
        try:
            zf = zipfile.ZipFile(zip_path)
        except (OSError, zipfile.BadZipFile) as e:
            raise DownloadError(f"--from_zip {zip_path} cannot be read as a zip ({_short(e)}).") from None
        with zf:
            names = {i.filename: i for i in zf.infolist() if not i.is_dir()}
            candidates = sorted((n for n in names if n.rsplit("/", 1)[-1] == SUMS_FILE), key=len)
            if not candidates:
                raise DownloadError(f"--from_zip {zip_path} has no {SUMS_FILE}; is it PhysioNet's PTB-XL zip?")
            prefix = candidates[0][: -len(SUMS_FILE)]
            sums = parse_sums(zf.read(candidates[0]).decode("utf-8", "replace"))
            check_out(out, version, sums)
            cache = VerifiedCache(out, version)
            wanted = select(sums, sampling_rate)
            result = DownloadResult(out, files_total=len(wanted))
            tracker.start(len(wanted), 0, 0)
            try:
                for rel in wanted:
                    if stop.is_set():
                        result.cancelled = True
                        break
                    if cache.is_good(out, rel, sums[rel]):
                        result.present += 1
                        tracker.file_done((out / rel).stat().st_size)
                    elif prefix + rel not in names:
                        result.missing.append(rel)
                    elif _extract_one(zf, names[prefix + rel], out, rel, sums[rel], tracker):
                        cache.add(out, rel, sums[rel])
                        result.fetched += 1
                    else:
                        result.bad.append(rel)
            except OSError as e:
                raise DownloadError(_disk_message(out, e)) from None
            finally:
                _save_quietly(cache)
        holder["result"] = result
    return result


def _extract_one(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, rel: str, sha: str, tracker: Tracker) -> bool:
    dest = out / rel
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    try:
        with zf.open(info) as src, open(part, "wb") as dst:
            for block in iter(lambda: src.read(CHUNK), b""):
                h.update(block)
                dst.write(block)
                tracker.add_bytes(len(block))
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:  # a bad CRC, a damaged member
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{info.filename} in the zip is damaged ({_short(e)}); download the zip again (nothing was written for it)."
        ) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if h.hexdigest() != sha:
        part.unlink(missing_ok=True)
        return False
    os.replace(part, dest)
    tracker.file_done(dest.stat().st_size)
    return True
