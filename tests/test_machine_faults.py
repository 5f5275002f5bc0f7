"""Machine faults on a real file system: a full disk (a 1 MB tmpfs), a read-only folder (a read-only bind
mount), a forbidden folder and a file where a folder should be. Every write gives one
:class:`StorageError` line naming the path and what to do, and leaves no temp file behind.

The mounts need root; the tests skip when not root or when the mount is refused (a container without
CAP_SYS_ADMIN) and always unmount."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ecgcore.checkpoints import load_checkpoint, save_checkpoint
from ecgcore.errors import ECGCoreError, StorageError
from ecgcore.fileio import atomic_write, make_folder, write_json, write_with
from ecgcore.models import ECGClassifier, create_model

PROJECT = Path(__file__).resolve().parent.parent
META = {"model": "cnn1d", "model_config": {}, "label_names": ["NORM", "MI", "STTC", "CD", "HYP"], "sampling_rate": 100}


def _mount(*args: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount refused: {done.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MB tmpfs."""
    folder = tmp_path / "small"
    folder.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        _umount(folder)


@pytest.fixture
def read_only(tmp_path):
    """(the writable folder, the same folder through a read-only bind mount)."""
    source, view = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    view.mkdir()
    _mount("--bind", str(source), str(view))
    try:
        _mount("-o", "remount,ro,bind", str(view))
        yield source, view
    finally:
        _umount(view)


def model() -> ECGClassifier:
    return ECGClassifier(create_model("cnn1d", n_classes=5), torch.zeros(12), torch.ones(12))


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp" in p.name]


def one_line(e: BaseException) -> str:
    text = str(e)
    assert "\n" not in text and "Errno" not in text and "Traceback" not in text, text
    return text


# ----------------------------------------------------------------------------- full disk


def test_write_json_on_a_full_disk(full_disk):
    write_json(full_disk / "status.json", {"state": "old"})
    with pytest.raises(StorageError) as info:
        write_json(full_disk / "status.json", {"big": "x" * 2_000_000})
    text = one_line(info.value)
    assert f"cannot write {full_disk / 'status.json'}: No space left on device; free space" in text
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert (full_disk / "status.json").read_text() == '{\n "state": "old"\n}'
    assert no_temp_files(full_disk)


def test_write_with_on_a_full_disk(full_disk):
    with pytest.raises(StorageError, match="No space left on device"):
        write_with(full_disk / "plot.png", lambda f: f.write(b"\0" * 2_000_000))
    assert list(full_disk.iterdir()) == []


def test_checkpoint_on_a_full_disk_is_a_storage_error(full_disk, monkeypatch):
    """torch.save on a full disk raises RuntimeError (inline_container.cc), not OSError: it is read as
    the same one-line storage error, the previous checkpoint kept and no temp file left."""
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(full_disk))
    net = model()
    save_checkpoint(full_disk / "best.pt", net, META | {"epoch": 1})
    with pytest.raises(StorageError) as info:
        save_checkpoint(full_disk / "best.pt", net, META | {"epoch": 2}, {"bulk": torch.zeros(1_000_000)})
    text = one_line(info.value)
    assert "cannot write checkpoint" in text and "No space left on device" in text
    assert "point ECGCORE_RUNS_DIR elsewhere" in text and "the previous best.pt is kept" in text
    assert load_checkpoint(full_disk / "best.pt")[1]["epoch"] == 1
    assert no_temp_files(full_disk)


def test_signal_cache_on_a_full_disk_then_a_good_one(full_disk, demo_root, monkeypatch, tmp_path):
    """The demo set's cache (14 MB) on a 1 MB tmpfs: one line with the cache path, the bytes needed and
    free and the setting to change; no temp file; then, with room, the same load works."""
    from ecgcore.sources import load_ptbxl

    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(full_disk))
    with pytest.raises(StorageError) as info:
        load_ptbxl(demo_root)
    text = one_line(info.value)
    assert "cannot write the signal cache" in text and str(full_disk) in text
    assert "bytes and" in text and "set ECGCORE_CACHE_DIR to a folder with more space" in text
    assert no_temp_files(full_disk) and not list((full_disk / "signals").glob("*.npy"))
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(tmp_path / "roomy"))
    assert len(load_ptbxl(demo_root).signals) > 0


def test_cli_info_on_a_full_cache_disk_exits_2_not_sigbus(full_disk, demo_root):
    """``info`` with ECGCORE_CACHE_DIR on a too-small disk: ``error: …`` and exit 2 (it was SIGBUS)."""
    env = os.environ | {"ECGCORE_CACHE_DIR": str(full_disk), "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(
        [sys.executable, "-m", "ecgcore", "info", "--data_root", str(demo_root)],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "error: cannot write the signal cache" in done.stderr and "Traceback" not in done.stderr
    assert no_temp_files(full_disk)


def test_preallocation_turns_a_late_full_disk_into_an_error(full_disk, monkeypatch, demo_root):
    """Space that goes between the check and the write (another writer) is caught by the
    preallocation, not by a SIGBUS while samples are written."""
    import shutil

    from ecgcore import signal_cache
    from ecgcore.sources import load_ptbxl

    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(full_disk))
    real = shutil.disk_usage
    monkeypatch.setattr(signal_cache.shutil, "disk_usage", lambda p: real(p)._replace(free=1 << 40))
    with pytest.raises(StorageError, match="cannot write the signal cache"):
        load_ptbxl(demo_root)
    assert no_temp_files(full_disk)


# ----------------------------------------------------------------------------- read-only, forbidden


def test_read_only_folder(read_only):
    source, view = read_only
    (source / "results.json").write_text("{}")
    for write in (
        lambda: write_json(view / "results.json", {"a": 1}),
        lambda: write_with(view / "x.png", lambda f: f.write(b"png")),
        lambda: make_folder(view / "run" / "fold0"),
        lambda: save_checkpoint(view / "best.pt", model(), META),
    ):
        with pytest.raises(StorageError) as info:
            write()
        text = one_line(info.value)
        assert "Read-only file system" in text and str(view) in text
    assert (source / "results.json").read_text() == "{}" and no_temp_files(source)


def test_forbidden_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write into any folder")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    try:
        with pytest.raises(StorageError, match="Permission denied; fix the folder's permissions"):
            write_json(folder / "x.json", {})
    finally:
        folder.chmod(0o700)


def test_permission_denied_is_translated(tmp_path, monkeypatch):
    """EACCES (here from a stand-in open, as root may write anywhere) is the same one-line error."""
    import builtins

    real_open = builtins.open

    def forbidden(file, mode="r", *a, **k):
        if "w" in mode and ".tmp" in str(file):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", forbidden)
    with pytest.raises(StorageError, match="Permission denied; fix the folder's permissions"):
        with atomic_write(tmp_path / "x.json", "w") as f:
            f.write("{}")


# ----------------------------------------------------------------------------- a file where a folder should be


def test_file_where_a_folder_should_be(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    for write in (
        lambda: write_json(tmp_path / "runs" / "demo" / "status.json", {}),
        lambda: make_folder(tmp_path / "runs"),
        lambda: save_checkpoint(tmp_path / "runs" / "best.pt", model(), META),
    ):
        with pytest.raises(StorageError) as info:
            write()
        text = one_line(info.value)
        assert f"{tmp_path / 'runs'} is a file where a folder should be; remove or rename that file" in text


def test_a_folder_where_the_file_should_be(tmp_path):
    (tmp_path / "results.json").mkdir()
    with pytest.raises(StorageError, match="it is a folder; remove or rename that folder"):
        write_json(tmp_path / "results.json", {})
    assert no_temp_files(tmp_path)


def test_storage_error_is_a_user_error_and_an_oserror():
    e = StorageError("cannot write x: No space left on device; free space.", errno.ENOSPC, "x")
    assert isinstance(e, ECGCoreError) and isinstance(e, OSError) and str(e).startswith("cannot write x")


def test_other_errors_pass_unchanged(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with atomic_write(tmp_path / "x.bin") as f:
            f.write(b"1")
            raise ZeroDivisionError("a bug in the writer")
    assert list(tmp_path.iterdir()) == []
