"""``vigil run``: the store, the executor, the controller and the API, wired together."""
