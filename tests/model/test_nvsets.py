"""Name/value set resolution: the "#default" value that unsets a name."""

from __future__ import annotations

from vigil.model.config import NvSet
from vigil.model.nvsets import resolve_nvsets
from vigil.model.rule_eval import RuleContext

CTX = RuleContext(now=0)


def test_default_keyword_leaves_the_name_unset() -> None:
    # An old CIB's target_role=#default is no parameter: it must not enter
    # the digest (Pacemaker's novell-239087 would restart its file system).
    sets = [NvSet("a", (("device", "/dev/drbd0"), ("target_role", "#default")))]
    assert resolve_nvsets(sets, CTX) == {"device": "/dev/drbd0"}


def test_default_keyword_clears_an_earlier_value_and_a_later_set_may_give_one() -> None:
    sets = [NvSet("high", (("x", "1"),), score=10), NvSet("mid", (("x", "#DEFAULT"),), score=5),
            NvSet("low", (("x", "3"),), score=1)]
    assert resolve_nvsets(sets, CTX) == {"x": "3"}


def test_default_keyword_in_defaults_clears_what_is_already_there() -> None:
    meta = {"target-role": "Stopped"}
    resolve_nvsets([NvSet("d", (("target-role", "#default"),))], CTX, into=meta)
    assert meta == {}
