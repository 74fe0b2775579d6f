"""ParticipantIdentity/get, /changes, /set (draft-ietf-jmap-calendars-33 §3):
the account's own addresses, read-only."""
from __future__ import annotations

from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.identity import Identity
from jmapcore.state import state_change_atomic
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson
from tests.personas import Persona


def _identity(persona: Persona, email: str, name: str) -> None:
    with state_change_atomic(account=persona.account, type_names=["Identity"]) as modseq:
        Identity.objects.create(account=persona.account, jmap_id=jmap_id_new("i"), created_modseq=modseq,
                                updated_modseq=modseq, email=email, name=name)  # fmt: skip


def test_the_account_address_is_the_default_identity(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    [identity] = person.ok("ParticipantIdentity/get", ids=None)["list"]
    assert set(identity) == {"id", "name", "calendarAddress", "isDefault"}
    assert identity["calendarAddress"] == f"mailto:{alice.account.email}"
    assert identity["isDefault"] is True and identity["name"] == (alice.account.name or "")


def test_mail_identities_add_their_concrete_addresses(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    _identity(alice, "alice.work@example.test", "Alice at work")
    _identity(alice, "*@example.test", "Anyone")
    _identity(alice, alice.account.email.upper(), "Same address")
    listed = person.ok("ParticipantIdentity/get", ids=None)["list"]
    assert [item["calendarAddress"] for item in listed] == [
        f"mailto:{alice.account.email}", "mailto:alice.work@example.test",
    ]  # fmt: skip
    assert [item["isDefault"] for item in listed] == [True, False]
    work = listed[1]
    got = person.ok("ParticipantIdentity/get", ids=[work["id"], "inothing"], properties=["name"])
    assert got["list"] == [{"id": work["id"], "name": "Alice at work"}] and got["notFound"] == ["inothing"]
    assert person.error("ParticipantIdentity/get", ids=None, properties=["email"])["type"] == "invalidArguments"


def test_changes_follow_the_state(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    state = person.ok("ParticipantIdentity/get", ids=[])["state"]
    same = person.ok("ParticipantIdentity/changes", sinceState=state)
    assert (same["newState"], same["created"], same["updated"], same["destroyed"]) == (state, [], [], [])
    _identity(alice, "alice.home@example.test", "Home")
    assert person.ok("ParticipantIdentity/get", ids=[])["state"] != state
    assert person.error("ParticipantIdentity/changes", sinceState=state)["type"] == "cannotCalculateChanges"
    assert person.error("ParticipantIdentity/changes")["type"] == "invalidArguments"


def test_set_refuses_everything_and_changes_nothing(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    [identity] = person.ok("ParticipantIdentity/get", ids=None)["list"]
    result = person.ok(
        "ParticipantIdentity/set",
        create={"c1": {"name": "X", "calendarAddress": "mailto:x@example.test"}},
        update={identity["id"]: {"name": "Renamed"}, "inothing": {"name": "Y"}},
        destroy=[identity["id"]],
    )
    assert result["notCreated"]["c1"]["type"] == "forbidden"
    assert result["notUpdated"][identity["id"]]["type"] == "forbidden"
    assert result["notUpdated"]["inothing"]["type"] == "notFound"
    assert result["notDestroyed"][identity["id"]]["type"] == "forbidden"
    assert result["oldState"] == result["newState"]
    assert person.ok("ParticipantIdentity/get", ids=None)["list"] == [identity]
    assert person.error("ParticipantIdentity/set", ifInState="stale")["type"] == "stateMismatch"


def test_mallory_sees_only_her_own(alice: Persona, mallory: Persona) -> None:
    CalendarsPerson.of(alice)
    intruder = CalendarsPerson.of(mallory)
    response_name, result = intruder.call("ParticipantIdentity/get", accountId=alice.account.accountid, ids=None)
    assert (response_name, result["type"]) == ("error", "accountNotFound")
    [own] = intruder.ok("ParticipantIdentity/get", ids=None)["list"]
    assert own["calendarAddress"] == f"mailto:{mallory.account.email}"
