"""A store that existed and is now unusable is an error naming the file, never a new empty cluster;
a read-only open never writes (issue 12, defects 6 and 10)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from tests.store.conftest import run
from vigil.daemon.statedir import store_url
from vigil.model.config import Config, Node
from vigil.store import SQLiteStore, StoreError, open_store

CONFIG = Config(nodes=(Node(id="1", uname="node1"),))


def make_store(state: Path) -> Path:
    async def write() -> None:
        async with open_store(store_url(state)) as store:
            await store.put_config(CONFIG, 0)

    state.mkdir(exist_ok=True)
    run(write())
    return state / "vigil.db"


def digest(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` and its content: to prove that nothing was written."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("opening", [{"create": True}, {"create": False}, {"read_only": True}])
def test_an_empty_store_file_is_an_error_naming_it(tmp_path: Path, opening: dict[str, bool]) -> None:
    (tmp_path / "vigil.db").touch()
    with pytest.raises(StoreError, match=r"vigil\.db: the store file is empty \(0 bytes\)") as error:
        open_store(store_url(tmp_path), **opening)
    assert str(tmp_path / "vigil.db") in str(error.value)
    assert (tmp_path / "vigil.db").stat().st_size == 0


@pytest.mark.parametrize("opening", [{"create": True}, {"create": False}, {"read_only": True}])
def test_a_directory_in_place_of_the_store_is_an_error_naming_it(tmp_path: Path,
                                                                  opening: dict[str, bool]) -> None:
    (tmp_path / "vigil.db").mkdir()
    with pytest.raises(StoreError, match="a directory is where the store file should be") as error:
        open_store(store_url(tmp_path), **opening)
    assert str(error.value).startswith(f"{tmp_path / 'vigil.db'}: ")
    assert list((tmp_path / "vigil.db").iterdir()) == []  # no store made inside it


def test_a_store_deleted_under_its_journal_is_not_made_anew(tmp_path: Path) -> None:
    path = make_store(tmp_path)
    keep = sqlite3.connect(path)  # an open connection keeps the -wal file
    keep.execute("PRAGMA journal_mode = WAL")
    keep.execute("INSERT INTO schema_version (version) SELECT version FROM schema_version WHERE 0")
    (tmp_path / "vigil.db-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 60)
    path.unlink()
    try:
        with pytest.raises(StoreError, match=r"the store is missing but its journal vigil\.db-wal is there"):
            open_store(store_url(tmp_path))
        assert not path.exists()
    finally:
        keep.close()


def test_a_sqlite_file_without_tables_is_not_taken_for_a_store_by_a_read(tmp_path: Path) -> None:
    path = tmp_path / "vigil.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")  # a valid SQLite file, not empty, without tables
    conn.commit()
    conn.close()
    before = digest(tmp_path)
    for opening in ({"create": False}, {"read_only": True}):
        with pytest.raises(StoreError, match="holds no vigil store"):
            open_store(store_url(tmp_path), **opening)
    assert digest(tmp_path) == before


def test_a_missing_store_is_never_created_by_a_read(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no vigil store there; create one with `vigil config load FILE` "
                                         r"or `vigil run --config FILE`"):
        open_store(store_url(tmp_path / "state"), read_only=True)
    assert not (tmp_path / "state").exists()
    with pytest.raises(StoreError, match="no vigil store there"):
        open_store(store_url(tmp_path), read_only=True, create=True)  # read_only wins
    assert list(tmp_path.iterdir()) == []


def test_the_first_start_still_creates_the_store(tmp_path: Path) -> None:
    store = open_store(store_url(tmp_path))
    run(store.close())
    assert (tmp_path / "vigil.db").stat().st_size > 0

    async def read_back() -> tuple[Config, int]:
        async with open_store(store_url(tmp_path), read_only=True) as created:
            return await created.get_config()

    assert run(read_back()) == (Config(), 0)  # a store a read opens: empty, nothing configured yet


def test_a_read_only_open_reads_and_never_writes(tmp_path: Path) -> None:
    make_store(tmp_path)
    before = digest(tmp_path)

    async def read() -> None:
        async with open_store(store_url(tmp_path), read_only=True) as store:
            assert isinstance(store, SQLiteStore) and store.read_only
            assert await store.get_config() == (CONFIG, 1)
            with pytest.raises(StoreError, match="readonly"):
                await store.set_node_attribute("node1", "standby", "on")

    run(read())
    assert {name: h for name, h in digest(tmp_path).items() if name == "vigil.db"} == \
        {"vigil.db": before["vigil.db"]}


def test_a_read_only_open_of_an_old_schema_asks_for_a_writing_open(tmp_path: Path) -> None:
    path = make_store(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 1")
    conn.commit()
    conn.close()
    before = digest(tmp_path)
    with pytest.raises(StoreError, match=r"schema version 1 and must be upgraded.*`vigil run`"):
        open_store(store_url(tmp_path), read_only=True)
    assert digest(tmp_path)["vigil.db"] == before["vigil.db"]
