"""The cleanup worker: age rule, files open in a live view kept, nothing outside uploads/ touched."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from neloura.runtime.cleanup import CleanupWorker
from neloura.runtime.views import LiveViews
from neloura.settings import Settings

HOUR = 3600.0


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)


@pytest.fixture
def worker(settings: Settings) -> CleanupWorker:
    return CleanupWorker(settings.model_copy(update={"cleanup_interval_minutes": 60.0}), LiveViews())


def test_age_rule(worker: CleanupWorker, settings: Settings) -> None:
    old, young = settings.uploads_dir / "old.fits", settings.uploads_dir / "young.fits"
    old.write_bytes(b"o")
    young.write_bytes(b"y")
    _age(old, 2 * HOUR)
    _age(young, 0.5 * HOUR)
    assert worker.run_once() == [old]
    assert not old.exists() and young.exists()
    assert worker.run_once(now=time.time() + HOUR) == [young]


def test_file_open_in_a_live_view_is_kept(worker: CleanupWorker, settings: Settings) -> None:
    shown = settings.uploads_dir / "shown.fits"
    shown.write_bytes(b"s")
    _age(shown, 5 * HOUR)
    worker.views.update("page-1", shown)
    assert worker.run_once() == []
    assert shown.exists()
    worker.views.update("page-1", None)
    assert worker.run_once() == [shown]


def test_symlink_pointing_outside_is_removed_as_a_link(
    worker: CleanupWorker, settings: Settings, tmp_path: Path
) -> None:
    target_dir = tmp_path / "precious"
    target_dir.mkdir()
    (target_dir / "data.fits").write_bytes(b"keep me")
    target_file = tmp_path / "precious.fits"
    target_file.write_bytes(b"keep me too")
    dir_link, file_link = settings.uploads_dir / "dirlink", settings.uploads_dir / "filelink.fits"
    dir_link.symlink_to(target_dir, target_is_directory=True)
    file_link.symlink_to(target_file)
    _age(target_dir / "data.fits", 10 * HOUR)
    _age(target_file, 10 * HOUR)
    removed = worker.run_once()
    assert sorted(removed) == sorted([dir_link, file_link])
    assert not dir_link.is_symlink() and not file_link.is_symlink()
    assert (target_dir / "data.fits").read_bytes() == b"keep me"
    assert target_file.read_bytes() == b"keep me too"


def test_young_symlink_inside_kept_and_old_one_removed(worker: CleanupWorker, settings: Settings) -> None:
    real = settings.uploads_dir / "real.fits"
    real.write_bytes(b"r")
    link = settings.uploads_dir / "alias.fits"
    link.symlink_to(real)
    assert worker.run_once() == []
    _age(link, 2 * HOUR)
    assert worker.run_once() == [link]
    assert real.exists()


def test_folders_emptied_then_removed(worker: CleanupWorker, settings: Settings) -> None:
    sub = settings.uploads_dir / "batch"
    sub.mkdir()
    (sub / "a.fits").write_bytes(b"a")
    (sub / "b.fits").write_bytes(b"b")
    _age(sub / "a.fits", 2 * HOUR)
    _age(sub, 2 * HOUR)
    assert worker.run_once() == [sub / "a.fits"]
    assert sub.exists()  # b.fits is young
    _age(sub / "b.fits", 2 * HOUR)
    _age(sub, 2 * HOUR)
    assert sorted(worker.run_once()) == [sub, sub / "b.fits"]
    assert settings.uploads_dir.exists() and list(settings.uploads_dir.iterdir()) == []


def test_nothing_outside_uploads_is_touched(worker: CleanupWorker, settings: Settings) -> None:
    other = settings.files_dir / "demo.fits"
    other.write_bytes(b"d")
    _age(other, 100 * HOUR)
    _age(settings.uploads_dir, 100 * HOUR)
    assert worker.run_once() == []
    assert other.exists() and settings.uploads_dir.is_dir()


def test_removals_are_logged(worker: CleanupWorker, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    old = settings.uploads_dir / "old.fits"
    old.write_bytes(b"o")
    _age(old, 2 * HOUR)
    with caplog.at_level(logging.INFO, logger="neloura.cleanup"):
        worker.run_once()
    assert "removed" in caplog.text and "old.fits" in caplog.text


def test_worker_runs_with_the_server(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from neloura.app import create_app

    s = Settings(root=tmp_path / "root", demo=False, disk_cache=False, cleanup_interval_minutes=0.01)
    s.ensure_folders()
    old = s.uploads_dir / "old.fits"
    old.write_bytes(b"o")
    _age(old, HOUR)
    with TestClient(create_app(s)):
        deadline = time.monotonic() + 10
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not old.exists()


def test_job_results_expire_after_the_retention_and_the_store_forgets_their_jobs(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from neloura.runtime.cleanup import RESULT_FOLDERS
    from neloura.runtime.job_store import JobRecord, JobStore

    store = JobStore(settings.jobs_db)
    now = time.time()
    store.insert(JobRecord("old", "detection", "a", state="done", created=now - 50 * HOUR, finished=now - 49 * HOUR))
    store.insert(JobRecord("new", "detection", "a", state="done", created=now - 2 * HOUR, finished=now - HOUR))
    worker = CleanupWorker(
        settings.model_copy(update={"results_keep_hours": 48.0}), LiveViews(), expire_jobs=store.expire
    )
    old, young = [], []
    for folder in RESULT_FOLDERS:
        root = settings.root / folder / "sub"
        root.mkdir(parents=True, exist_ok=True)
        (root / "old.csv").write_bytes(b"o")
        (root / "young.csv").write_bytes(b"y")
        _age(root / "old.csv", 49 * HOUR)
        old.append(root / "old.csv")
        young.append(root / "young.csv")
    outside = tmp_path / "precious.csv"  # a link out of a result folder: the link goes, never its target
    outside.write_bytes(b"keep")
    (settings.catalogs_dir / "detections" / "link.csv").symlink_to(outside)
    _age(settings.catalogs_dir / "detections" / "link.csv", 49 * HOUR)
    kept_by_view = settings.files_dir / "results" / "shown.fits"
    kept_by_view.write_bytes(b"s")
    _age(kept_by_view, 100 * HOUR)
    worker.views.update("page", kept_by_view)
    user_catalog = settings.catalogs_dir / "mine.csv"  # beside the result folders: never touched
    user_catalog.write_bytes(b"u")
    _age(user_catalog, 1000 * HOUR)
    with caplog.at_level(logging.INFO, logger="neloura.cleanup"):
        removed = worker.sweep_results()
    assert sorted(removed) == sorted([*old, settings.catalogs_dir / "detections" / "link.csv"])
    assert all(p.exists() for p in young) and outside.exists() and kept_by_view.exists() and user_catalog.exists()
    assert "results: removed" in caplog.text and "old.csv" in caplog.text
    assert [r.id for r in store.list("a")] == ["new"]
