"""open_store: the backend picked by URL scheme, and clear errors for the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.store.conftest import run
from vigil.store import MemoryStore, SQLiteStore, StoreError, open_store, sqlite_url


def test_memory_urls_give_a_new_empty_store_each_time() -> None:
    first, second = open_store("memory://"), open_store("memory://")
    assert isinstance(first, MemoryStore) and first is not second
    run(first.set_node_attribute("n", "a", "b"))
    assert run(second.revision()) == 0


def test_sqlite_urls_absolute_and_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite://{tmp_path}/a.db")
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "a.db"
    run(store.close())
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:b.db")
    assert isinstance(store, SQLiteStore) and store.path == Path("b.db")
    assert os.path.exists(tmp_path / "b.db")
    run(store.close())
    assert sqlite_url(tmp_path / "a.db") == f"sqlite://{tmp_path}/a.db"
    assert sqlite_url(Path("b.db")) == "sqlite:b.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("etcd://127.0.0.1", r"write etcd://HOST:PORT\[,HOST:PORT...\]\[/CLUSTER\]"),
        ("etcd://127.0.0.1:2379/a/b", "the cluster name .* is one word"),
        ("etcd://127.0.0.1:2379?colour=red", "unknown option 'colour'"),
        ("redis://localhost", r"unknown store URL .*redis://.*use sqlite:///PATH.*etcd://HOST:PORT"),
        ("/var/lib/vigil/vigil.db", "unknown store URL .*no scheme"),
        ("sqlite://vigil.db", "three slashes"),
        ("sqlite://", "use sqlite:///PATH"),
        ("sqlite:///tmp/x.db?mode=ro", "use sqlite:///PATH"),
        ("memory://somewhere", "takes no path"),
    ],
)
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_etcd_urls_without_the_client_installed_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import vigil.store.etcd.channel as etcd

    monkeypatch.setattr(etcd, "rpc", None)
    with pytest.raises(StoreError, match=r"pip install 'vigil\[etcd\]'"):
        open_store("etcd://127.0.0.1:23790")


def test_etcd_urls_name_endpoints_and_cluster() -> None:
    from vigil.store.etcd import channel_target, parse_url

    endpoints, cluster, options = parse_url("etcd://10.0.0.1:2379,10.0.0.2:2379/prod?compact=0")
    assert endpoints == [("10.0.0.1", 2379), ("10.0.0.2", 2379)] and cluster == "prod"
    assert options == {"compact": "0"}
    assert channel_target(endpoints) == "ipv4:10.0.0.1:2379,10.0.0.2:2379"  # pick_first over both
    assert parse_url("etcd://127.0.0.1:2379")[1] == "default"
    assert channel_target([("localhost", 1)]) == "localhost:1"
