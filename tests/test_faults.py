"""Runs that end cleanly or not at all, and builds that cannot mix.

The output folder is claimed by one run (and one build) at a time; the cache of record-level
data lives outside it; the chapter workers and their kernels die with ``sna run`` (``kill
-9``, Ctrl-C); file-system errors a user can fix are exit code 2 with the path and what to do;
an interrupted run and the chapters a partial re-run keeps from other inputs are shown as
such. The runs use the fixture notebooks with the assessment faked (as tests/test_report.py
does); the runs that must be killed or interrupted run as separate processes
(tests/fixtures/fake_run.py).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import psutil
import pytest

from sna import cli, report
from sna.config import load_config
from sna.errors import OutputError
from sna.report import batch, folder

from fakes import fake_prepare as fake_prepare_of

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
FAKE_RUN = Path(__file__).parent / "fixtures" / "fake_run.py"
SAMPLE = Path(report.__file__).parents[1] / "datasets" / "nottingham-sample" / "sna.yml"
TINY = str(FIXTURES / "98_tiny_chapter.ipynb")
BROKEN = str(FIXTURES / "broken_cell.ipynb")
SLEEPY = str(FIXTURES / "95_sleepy.ipynb")


@pytest.fixture
def fake_prepare(monkeypatch, tmp_path):
    monkeypatch.setattr(batch, "_prepare", fake_prepare_of(tmp_path / "cache"))
    return tmp_path


# ---- the cache outside the publication, one build per folder ------------------------------
def test_the_cache_is_beside_the_config_not_in_the_output_folder(tmp_path, monkeypatch):
    cfg = load_config(SAMPLE).model_copy(update={"config_path": tmp_path / "sna.yml",
                                                 "output": "outputs"})
    assert cfg.cache_dir() == tmp_path / ".sna-cache"
    assert tmp_path / "outputs" not in cfg.cache_dir().parents
    monkeypatch.chdir(tmp_path)  # the bundled datasets: in the current folder
    assert load_config(SAMPLE).cache_dir() == tmp_path / ".sna-cache"
    assert cfg.model_copy(update={"cache": "/elsewhere/c"}).cache_dir() == Path("/elsewhere/c")


def test_a_public_build_refuses_a_cache_inside_its_output_folder(tmp_path, capsys):
    code = cli.main(["run", "--config", str(SAMPLE), "--output", str(tmp_path / "pub"),
                     "--cache", str(tmp_path / "pub" / "cache"), "--build", "public",
                     "--chapters", TINY])
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"the cache folder {tmp_path / 'pub' / 'cache'} is inside the output folder" in err
    assert "'cache'" in err and "--cache" in err
    assert not (tmp_path / "pub").exists()


@pytest.mark.slow
def test_a_public_partial_run_over_a_restricted_one_leaves_no_restricted_file(fake_prepare):
    base = fake_prepare / "out"
    first = report.run(SAMPLE, chapters=[TINY, BROKEN], output=base, jobs=1, progress=False,
                       fresh_kernels=True)
    out = first.output_dir
    assert (out / "data" / "incidents.parquet").exists()
    assert (out / "quarantine" / "quarantine.csv").exists()
    said = []
    public = report.run(SAMPLE, chapters=[TINY], output=base, jobs=1, progress=said.append,
                        build="public", fresh_kernels=True)
    assert public.output_dir == out
    assert any("the folder held a restricted build: its outputs are cleared" in m for m in said)
    assert not (out / "data").exists()
    assert not (out / "quarantine" / "quarantine.csv").exists()
    assert not list(out.rglob("*.parquet"))
    assert sorted(p.name for p in (out / "chapters").glob("*.ipynb")) == ["98_tiny_chapter.ipynb"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["build"] == "public" and [c["name"] for c in m["chapters"]] == ["98_tiny_chapter"]
    page = (out / "report.html").read_text()
    assert "Public build." in page and "ch-broken_cell" not in page
    assert not (out / folder.LOCK_NAME).exists()  # given up when the run ended


@pytest.mark.slow
def test_a_public_build_of_the_sample_holds_no_record_level_file_under_the_output_root(
        tmp_path, monkeypatch):
    from sna.disclosure import check_outputs

    monkeypatch.chdir(tmp_path)
    root = tmp_path / "publish"
    result = report.run(SAMPLE, chapters="00", output=root, build="public", jobs=1,
                        progress=False)
    assert (result.output_dir / "chapters" / "00_data_quality.ipynb").exists()  # it ran
    assert (tmp_path / ".sna-cache").is_dir()  # the cache, beside (here: the current folder)
    assert not list(root.rglob("*.parquet")) and not list(root.rglob("quarantine.csv"))
    assert not [p for p in root.rglob("*") if p.name.startswith(".")]
    findings = check_outputs(root)
    assert "data_file" not in set(findings["check"])


# ---- the lock ----------------------------------------------------------------------------
def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_folder_held_by_a_live_run_is_refused_naming_the_holder(fake_prepare):
    out = fake_prepare / "out" / "nottingham-sample" / "2018-19"
    out.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / folder.LOCK_NAME).write_text(json.dumps({
            "pid": holder.pid, "host": os.uname().nodename, "build": "restricted",
            "started": "2026-01-01T10:00:00+00:00"}))
        with pytest.raises(OutputError) as err:
            report.run(SAMPLE, chapters=[TINY], output=fake_prepare / "out", jobs=1,
                       progress=False, fresh_kernels=True)
        msg = str(err.value)
        assert err.value.exit_code == 2
        assert f"is being written by another sna run (process {holder.pid}" in msg
        assert "restricted build, started 2026-01-01T10:00:00+00:00" in msg
        assert "choose another --output" in msg
        assert not (out / "chapters").exists()  # nothing was touched
        assert json.loads((out / folder.LOCK_NAME).read_text())["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_run_that_died_is_taken_over(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    dead = _dead_pid()
    (out / folder.LOCK_NAME).write_text(json.dumps({"pid": dead, "host": os.uname().nodename,
                                                    "build": "restricted"}))
    with folder.claim_folder(out, "public") as lock:
        assert lock.stale["pid"] == dead
        assert json.loads((out / folder.LOCK_NAME).read_text())["pid"] == os.getpid()
        with pytest.raises(OutputError, match="being written by another sna run"):
            folder.claim_folder(out, "public")  # this process holds it now
    assert not (out / folder.LOCK_NAME).exists()


# ---- processes die with sna run ----------------------------------------------------------
def _survivors(token: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter():
        try:
            if p.environ().get("SNA_TEST_TOKEN") == token:
                found.append(p)
        except psutil.Error:
            pass
    return found


def _poll(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def _start_run(tmp_path: Path, chapters: str, *own: str, fresh: bool = False):
    token = uuid.uuid4().hex
    env = dict(os.environ, SNA_TEST_TOKEN=token)
    args = [sys.executable, str(FAKE_RUN), str(tmp_path / "cache"), *own, "--",
            "run", "--config", str(SAMPLE), "--output", str(tmp_path / "out"),
            "--chapters", chapters, "--jobs", "1"] + (["--fresh-kernels"] if fresh else [])
    proc = subprocess.Popen(args, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, token


def _kill_all(proc, token):
    for p in [*_survivors(token)]:
        try:
            p.kill()
        except psutil.Error:
            pass
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("fresh", [False, True])
def test_kill_9_of_sna_run_leaves_no_worker_or_kernel_behind(tmp_path, fresh):
    proc, token = _start_run(tmp_path, SLEEPY, fresh=fresh)
    out = tmp_path / "out" / "nottingham-sample" / "2018-19"
    try:
        assert _poll(lambda: (out / "sleepy.started").exists(), 240), proc.stderr.read()
        kinds = {" ".join(p.cmdline()) for p in _survivors(token)}
        assert any("ipykernel" in k for k in kinds), kinds  # a kernel is running the chapter
        proc.kill()  # kill -9
        proc.wait()
        gone = _poll(lambda: not _survivors(token), 30)
        assert gone, [p.cmdline() for p in _survivors(token)]
    finally:
        _kill_all(proc, token)


@pytest.mark.slow
def test_ctrl_c_during_the_chapters_stops_everything_and_leaves_an_interrupted_status(
        tmp_path, monkeypatch):
    proc, token = _start_run(tmp_path, f"{TINY},{SLEEPY}")
    out = tmp_path / "out" / "nottingham-sample" / "2018-19"
    try:
        assert _poll(lambda: (out / "sleepy.started").exists(), 240), proc.stderr.read()
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C at a terminal: the whole process group
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
        assert "interrupted; chapter(s) not finished: 95_sleepy" in err
        assert _poll(lambda: not _survivors(token), 30)
    finally:
        _kill_all(proc, token)
    # no half-written notebook presented as a chapter; the status says what happened
    assert not list((out / "chapters").glob("95_sleepy.*"))
    assert (out / "chapters" / "98_tiny_chapter.ipynb").exists()
    assert not (out / "report.html").exists()
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["exit_code"] == 130
    assert {c["name"]: c["status"] for c in m["chapters"]} == {"98_tiny_chapter": "ok",
                                                              "95_sleepy": "interrupted"}
    assert not (out / folder.LOCK_NAME).exists()
    # the next run and its report show it
    monkeypatch.setattr(batch, "_prepare", fake_prepare_of(tmp_path / "cache"))
    said = []
    again = report.run(SAMPLE, chapters=[TINY], output=tmp_path / "out", jobs=1,
                       progress=said.append, fresh_kernels=True)
    assert again.exit_code == 0
    assert any("previous run in this folder was interrupted" in m and "95_sleepy" in m
               for m in said)
    page = (out / "report.html").read_text()
    assert "An earlier run in this folder was interrupted: chapter(s) 95_sleepy did not finish" in page
    m = json.loads((out / "manifest.json").read_text())
    assert {c["name"]: c["status"] for c in m["chapters"]} == {"98_tiny_chapter": "ok",
                                                              "95_sleepy": "interrupted"}


@pytest.mark.slow
def test_ctrl_c_during_preparation_prints_no_worker_traceback(tmp_path):
    proc, token = _start_run(tmp_path, TINY, "--prepare-seconds", "120")
    try:
        assert _poll(lambda: (tmp_path / "cache" / "preparing").exists(), 120)
        # the workers are up (and warming their kernels) while the assessment is prepared
        assert _poll(lambda: any("ipykernel" in " ".join(p.cmdline())
                                 for p in _survivors(token)), 120)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert "sna: interrupted" in err
        assert _poll(lambda: not _survivors(token), 30)
    finally:
        _kill_all(proc, token)


@pytest.mark.slow
def test_the_kernels_never_import_from_the_callers_folder(fake_prepare, monkeypatch):
    """Running sna from the parent of a clone (a folder holding a folder named sna)."""
    caller = fake_prepare / "parent-of-a-clone"
    (caller / "sna").mkdir(parents=True)
    (caller / "sna" / "__init__.py").write_text("raise ImportError('the wrong sna')\n")
    monkeypatch.chdir(caller)
    for fresh in (False, True):
        result = report.run(SAMPLE, chapters=[TINY], output=fake_prepare / "out", jobs=1,
                            progress=False, fresh_kernels=fresh)
        assert result.exit_code == 0, [c.summary() for c in result.failed]


# ---- what a failing run says -------------------------------------------------------------
@pytest.mark.slow
def test_quiet_still_prints_a_failing_chapter(fake_prepare, capsys):
    code = cli.main(["run", "--config", str(SAMPLE), "--output", str(fake_prepare / "o"),
                     "--chapters", BROKEN, "--jobs", "1", "--quiet", "--fresh-kernels"])
    assert code == 1
    err = capsys.readouterr().err
    assert "broken_cell: FAILED at cell 4" in err and "KeyError: 'ambulance'" in err
    assert "executed notebook:" in err
    assert "executing" not in err  # still no progress


@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, "the disk is full: free some space on it, or write elsewhere"),
    (errno.EROFS, "the file system is read-only: write elsewhere"),
    (errno.EACCES, "the folder is read-only or not yours"),
])
def test_disk_full_and_read_only_folders_are_exit_2_with_the_path(fake_prepare, monkeypatch,
                                                                  capsys, code, words):
    target = fake_prepare / "out" / "nottingham-sample" / "2018-19" / "quarantine" / "summary.csv"

    def cannot_write(assessment, where, build):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(batch, "_write_quarantine", cannot_write)
    rc = cli.main(["run", "--config", str(SAMPLE), "--output", str(fake_prepare / "out"),
                   "--chapters", TINY, "--jobs", "1", "--fresh-kernels"])
    assert rc == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"cannot use {target}: {os.strerror(code)}" in err and words in err
    assert "internal error" not in err and "bug" not in err
    assert not (target.parents[1] / folder.LOCK_NAME).exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_exit_2(fake_prepare, capsys):
    base = fake_prepare / "ro"
    base.mkdir()
    base.chmod(0o555)
    try:
        rc = cli.main(["run", "--config", str(SAMPLE), "--output", str(base),
                       "--chapters", TINY, "--jobs", "1", "--fresh-kernels"])
    finally:
        base.chmod(0o755)
    assert rc == 2
    err = " ".join(capsys.readouterr().err.split())
    assert str(base) in err and "make it writable" in err


# ---- a partial re-run after the inputs changed ---------------------------------------------
@pytest.mark.slow
def test_a_partial_rerun_after_an_input_change_marks_the_other_chapters_stale(fake_prepare,
                                                                             monkeypatch):
    base = fake_prepare / "out"
    first = report.run(SAMPLE, chapters=[TINY, BROKEN], output=base, jobs=1, progress=False,
                       fresh_kernels=True)
    out = first.output_dir
    # same inputs: nothing is stale
    report.run(SAMPLE, chapters=[TINY], output=base, jobs=1, progress=False, fresh_kernels=True)
    m = json.loads((out / "manifest.json").read_text())
    assert m["stale_chapters"] == []
    # an input changed: a new cache key
    monkeypatch.setattr(batch, "_prepare", fake_prepare_of(fake_prepare / "cache", key="key456"))
    said = []
    report.run(SAMPLE, chapters=[TINY], output=base, jobs=1, progress=said.append,
               fresh_kernels=True)
    assert any("kept from an earlier run were computed from other inputs or settings: "
               "broken_cell" in s for s in said)
    m = json.loads((out / "manifest.json").read_text())
    assert m["stale_chapters"] == ["broken_cell"]
    entry = {c["name"]: c for c in m["chapters"]}
    assert entry["broken_cell"]["cache_key"] == "key123" and entry["broken_cell"]["stale"]
    assert entry["98_tiny_chapter"]["cache_key"] == "key456"
    assert "stale" not in entry["98_tiny_chapter"]
    page = (out / "report.html").read_text()
    section = page[page.index('id="ch-broken_cell"'):]
    assert "Out of date." in section[:2000]
    assert "out of date</span>" in page


# ---- the cache: atomic writes, damaged caches rebuilt --------------------------------------
@pytest.mark.slow
def test_a_damaged_cache_is_rebuilt_with_a_note_and_killed_writes_are_cleaned(tmp_path):
    from sna.assessment import load_assessment

    cfg = load_config(SAMPLE).model_copy(update={"cache": str(tmp_path / "c")})
    first = load_assessment(cfg)
    folder = first.cache_path
    meta = json.loads((folder / "meta.json").read_text())
    assert set(meta["files"]) >= {"incidents.parquet", "quarantine.parquet", "quality.json"}
    # bytes changed in the middle of a Parquet file (it may still be readable)
    inc = folder / "incidents.parquet"
    data = bytearray(inc.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 8] = bytes(b ^ 0xFF for b in data[mid:mid + 8])
    inc.write_bytes(bytes(data))
    # the temporary folders of writes that were killed (this version's, named with the dead
    # process; an earlier version's, a day old), and a folder that is not the cache's
    dead = tmp_path / "c" / f".{'a' * 20}.tmp-{_dead_pid()}-x1y2z3w4"
    older = tmp_path / "c" / f".{'b' * 20}.abcd1234"
    other = tmp_path / "c" / ".git"
    for d in (dead, older, other):
        d.mkdir()
        (d / "incidents.parquet").write_bytes(b"PAR1 partial")
    os.utime(older, (time.time() - 2 * 86400,) * 2)
    os.utime(other, (time.time() - 2 * 86400,) * 2)
    said = []
    second = load_assessment(cfg, progress=said.append)
    note = f"the cache {folder} could not be used (damaged: incidents.parquet changed"
    assert any(m.startswith(note) for m in said), said
    assert any(n.startswith(note) for n in second.notes)
    assert any("rebuilt from the input files" in m for m in said)
    pd.testing.assert_frame_equal(second.incidents, first.incidents)
    assert not dead.exists() and not older.exists() and other.exists()
    # the rebuilt cache is whole again
    said = []
    third = load_assessment(cfg, progress=said.append)
    assert not any("could not be used" in m for m in said + third.notes)
    assert any(m.startswith("using the cache") for m in said)


# ---- clearer causes: an oversized field, a UTF-16 file --------------------------------------
POLICE_OCT = Path(__file__).parent / "data" / "police_uk" / "2018-10" / "2018-10-nottinghamshire-street.csv"


def _oversized(tmp_path: Path) -> Path:
    """A data.police.uk file whose line 3 holds a 40 MB field without quotes (past pyarrow's
    block, and past the csv module's field limit)."""
    lines = POLICE_OCT.read_bytes().split(b"\n")
    cells = lines[2].split(b",")
    cells[6] = b"x" * (40 << 20)
    lines[2] = b",".join(cells)
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(b"\n".join(lines))
    return f


def test_an_oversized_field_is_named_as_such_not_as_an_open_quote(tmp_path):
    from sna.errors import InputFormatError
    from sna.io._files import InputFile
    from sna.io.partner.tables import read_table
    from sna.io.police_uk import read_police_uk

    f = _oversized(tmp_path)
    for read in (lambda: read_police_uk(f), lambda: read_table(InputFile(str(f), f))):
        with pytest.raises(InputFormatError) as e:
            read()
        msg = str(e.value)
        assert "a field is longer than 131,072 characters" in msg
        assert "a line break or a separator is missing there" in msg
        assert "never closed" not in msg and e.value.line == 3


def test_a_utf16_file_is_named_as_such_with_the_encoding_to_set(tmp_path):
    from sna.errors import InputFormatError
    from sna.io._files import InputFile
    from sna.io.partner.tables import read_table
    from sna.io.police_uk import read_police_uk

    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(POLICE_OCT.read_text(encoding="utf-8").encode("utf-16"))
    for read in (lambda: read_police_uk(f), lambda: read_table(InputFile(str(f), f))):
        with pytest.raises(InputFormatError) as e:
            read()
        msg = str(e.value)
        assert "the file is UTF-16 text" in msg and "'encoding' in sna.yml to utf-16" in msg
        assert "cp1252" not in msg
    # as the message says: the encoding declared, the file is read
    assert len(read_table(InputFile(str(f), f), encoding="utf-16")) == len(POLICE_OCT.read_text().splitlines()) - 1


# ---- a script that calls run() without the __main__ guard ---------------------------------
@pytest.mark.slow
def test_a_script_without_the_main_guard_is_told_to_add_it(tmp_path):
    # the chapter workers are started with "spawn", which runs the main script again: a
    # script calling report.run at its top level broke every worker, and the run ended in a
    # bare "BrokenProcessPool: A child process terminated abruptly"
    call = (f"report.run({str(SAMPLE)!r}, chapters=[{TINY!r}], output={str(tmp_path / 'out')!r},"
            " jobs=1, progress=False)\n")
    bare = tmp_path / "bare.py"
    bare.write_text("from sna import report\n" + call)
    run = subprocess.run([sys.executable, str(bare)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 1, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("sna.errors.ChapterError: sna run: the chapter worker processes "
                           "stopped before they could run a chapter"), last
    assert f'call sna.report.run under `if __name__ == "__main__":` in {bare}' in last
    # each worker said it at once, instead of starting a run of its own
    assert "cannot start a run inside one of its own chapter workers" in run.stderr
    assert not list((tmp_path / "out").rglob("*.html"))
    guarded = tmp_path / "guarded.py"
    guarded.write_text('from sna import report\nif __name__ == "__main__":\n    r = ' + call
                       + "    print(r.exit_code, [c.status for c in r.chapters])\n")
    run = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("\n")[-2] == "0 ['ok']"


def test_a_pool_that_breaks_midway_fails_the_chapters_left_with_the_reason(monkeypatch):
    # a worker killed during a run (out of memory): the chapters it could not run are failed
    # with the reason, and the run goes on to say so, instead of a traceback
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from sna.report import execute

    class Pool:
        calls = 0

        def submit(self, fn, task):
            Pool.calls += 1
            if Pool.calls > 1:
                raise BrokenProcessPool("A child process terminated abruptly")
            f = Future()
            f.set_result({"name": task["name"], "notebook": task["notebook"], "status": "ok",
                          "seconds": 0.1})
            return f

    pool = type("P", (), {"pool": Pool()})()
    tasks = [{"name": n, "notebook": f"{n}.ipynb"} for n in ("02_a", "03_b", "09_appendix")]
    said = []
    results = execute.execute_all(tasks, pool, {"02_a": 3.0, "03_b": 1.0}, said.append)
    assert [r.status for r in results] == ["ok", "failed", "failed"]
    assert all(r.error["ename"] == "BrokenProcessPool" for r in results[1:])
    assert "the chapter worker processes stopped" in results[1].error["evalue"]
    assert len(said) == 3
    # before any chapter ran: the run stops with the reason
    Pool.calls = 1
    with pytest.raises(Exception, match="the chapter worker processes stopped") as err:
        execute.execute_all(tasks, pool, {}, said.append)
    assert type(err.value).__name__ == "ChapterError"
