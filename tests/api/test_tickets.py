"""``/api/v1/tickets`` (crm_ticket): each route's effect on the store's ticket state, what the
controller is asked to do, and the refusals (fencing loss-policy without force, a granted ticket's
state removed, a bad name).  The scheduler's reading of tickets is the corpus's (tickets 114/115);
tests/daemon/test_tickets.py has a real daemon starting and stopping a resource on them."""

from __future__ import annotations

from tests.api.conftest import AUTH, CIB, Api, run_api
from vigil.admin.intake import parse_config
from vigil.model.status import Ticket

CONSTRAINTS = b"""<constraints>
      <rsc_ticket id="web-needs-T1" rsc="web" ticket="T1"/>
      <rsc_ticket id="g-needs-T2" rsc="g" ticket="T2" loss-policy="fence"/>
    </constraints>"""
CONFIG = parse_config(CIB.replace(b"<constraints/>", CONSTRAINTS), "tickets.xml")[0]


async def stored(api: Api) -> dict[str, Ticket]:
    return {ticket.id: ticket for ticket in (await api.store.snapshot()).cluster.status.tickets}


def test_tickets_named_by_constraints_are_listed_revoked_until_granted() -> None:
    async def scenario(api: Api) -> None:
        listed = (await api.client.get("/api/v1/tickets")).json()
        assert [(t["id"], t["granted"], t["standby"], t["constraints"], t["resources"]) for t in listed] == [
            ("T1", False, False, ["web-needs-T1"], ["web"]), ("T2", False, False, ["g-needs-T2"], ["g"])]
        assert await stored(api) == {}

    run_api(scenario, config=CONFIG)


def test_grant_standby_activate_revoke_and_forget() -> None:
    async def scenario(api: Api) -> None:
        response = await api.client.post("/api/v1/tickets/T1/grant", headers=AUTH)
        assert response.status_code == 200 and response.json()["changed"] is True
        granted = (await stored(api))["T1"]
        assert granted.granted and not granted.standby and granted.last_granted is not None
        again = (await api.client.post("/api/v1/tickets/T1/grant", headers=AUTH)).json()
        assert again["changed"] is False and (await stored(api))["T1"] == granted
        await api.client.post("/api/v1/tickets/T1/standby", headers=AUTH)
        assert (await stored(api))["T1"].standby
        shown = (await api.client.get("/api/v1/tickets/T1")).json()
        assert (shown["granted"], shown["standby"]) == (True, True)
        await api.client.post("/api/v1/tickets/T1/activate", headers=AUTH)
        refused = await api.client.delete("/api/v1/tickets/T1", headers=AUTH)
        assert refused.status_code == 409 and "revoke it" in refused.json()["error"]
        revoked = (await api.client.post("/api/v1/tickets/T1/revoke", headers=AUTH)).json()
        assert revoked["changed"] is True and revoked["notes"] == ["loss-policy: stop"]
        assert (await stored(api))["T1"] == Ticket("T1", last_granted=granted.last_granted)
        forgotten = await api.client.delete("/api/v1/tickets/T1", headers=AUTH)
        assert forgotten.status_code == 200 and await stored(api) == {}
        assert api.controller.pokes == ["ticket grant T1", "ticket standby T1", "ticket activate T1",
                                        "ticket revoke T1", "ticket forget T1"]

    run_api(scenario, config=CONFIG)


def test_revoking_a_ticket_whose_loss_policy_fences_needs_force() -> None:
    async def scenario(api: Api) -> None:
        await api.client.post("/api/v1/tickets/T2/grant", headers=AUTH)
        refused = await api.client.post("/api/v1/tickets/T2/revoke", headers=AUTH)
        assert refused.status_code == 409
        assert "fences" in refused.json()["error"] and "g-needs-T2" in refused.json()["details"][0]
        assert (await stored(api))["T2"].granted
        forced = await api.client.post("/api/v1/tickets/T2/revoke", json={"force": True}, headers=AUTH)
        assert forced.status_code == 200 and not (await stored(api))["T2"].granted
        assert api.controller.pokes == ["ticket grant T2", "ticket revoke T2"]

    run_api(scenario, config=CONFIG)


def test_a_ticket_nothing_needs_can_be_granted_with_a_note_and_a_bad_name_is_refused() -> None:
    async def scenario(api: Api) -> None:
        response = (await api.client.post("/api/v1/tickets/spare/grant", headers=AUTH)).json()
        assert response["notes"] == ["no ticket constraint names 'spare': nothing depends on it yet"]
        before = await api.store.revision()
        bad = await api.client.post("/api/v1/tickets/9lives/grant", headers=AUTH)
        assert bad.status_code == 400 and "not a valid ticket name" in bad.json()["error"]
        assert await api.store.revision() == before

    run_api(scenario, config=CONFIG)
