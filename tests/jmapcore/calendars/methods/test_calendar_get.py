"""Calendar/get and Calendar/changes (draft-ietf-jmap-calendars-33 §4.1-§4.2)
over cache rows as sync writes them: every property, myRights from the DAV
privileges, exactly one default calendar, and no way into someone else's account."""
from __future__ import annotations

from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.calendars import Calendar
from jmapcore.state import state_change_atomic
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson
from tests.jmapcore.calendars.methods.calendar_people import calendar_make, calendars
from tests.personas import Persona

PROPERTIES = {
    "id", "name", "description", "color", "sortOrder", "isSubscribed", "isVisible", "isDefault",
    "includeInAvailability", "defaultAlertsWithTime", "defaultAlertsWithoutTime", "timeZone", "shareWith", "myRights",
}  # fmt: skip
ALL_RIGHTS = {
    "mayReadFreeBusy": True, "mayReadItems": True, "mayWriteAll": True, "mayWriteOwn": True,
    "mayUpdatePrivate": True, "mayRSVP": True, "mayShare": False, "mayDelete": True,
}  # fmt: skip


def test_every_property_with_its_default(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    row = calendar_make(person, "Work", sort_order=4, color="#336699", description="Office")
    [calendar] = person.ok("Calendar/get", ids=None)["list"]
    assert set(calendar) == PROPERTIES
    assert calendar["id"] == row.jmap_id and calendar["id"].startswith("k")
    assert (calendar["name"], calendar["description"], calendar["color"], calendar["sortOrder"]) == (
        "Work", "Office", "#336699", 4,
    )
    assert (calendar["isSubscribed"], calendar["isVisible"], calendar["isDefault"]) == (True, True, True)
    assert calendar["includeInAvailability"] == "all"
    assert (calendar["defaultAlertsWithTime"], calendar["defaultAlertsWithoutTime"]) == (None, None)
    assert (calendar["timeZone"], calendar["shareWith"]) == (None, None)
    assert calendar["myRights"] == ALL_RIGHTS


def test_rights_follow_the_dav_privileges(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    calendar_make(person, "Read only", dav_privileges=["read", "read-current-user-privilege-set"])
    calendar_make(person, "Free busy only", dav_privileges=["read-free-busy"])
    calendar_make(person, "Events only", dav_privileges=["read", "write-content", "bind", "unbind", "parent:read"])
    found = calendars(person)
    assert found["Read only"]["myRights"] == {
        **{name: False for name in ALL_RIGHTS}, "mayReadFreeBusy": True, "mayReadItems": True,
    }  # fmt: skip
    assert found["Free busy only"]["myRights"] == {**{name: False for name in ALL_RIGHTS}, "mayReadFreeBusy": True}
    # The parent's privileges are known and lack unbind: the calendar cannot be removed.
    assert found["Events only"]["myRights"] == {**ALL_RIGHTS, "mayDelete": False}


def test_a_read_only_account_has_no_write_right(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    calendar_make(person, "Work", dav_privileges=["all"])
    alice.account.is_read_only = True
    alice.account.save(update_fields=["is_read_only"])
    rights = calendars(person)["Work"]["myRights"]
    assert rights == {**{name: False for name in ALL_RIGHTS}, "mayReadFreeBusy": True, "mayReadItems": True}


def test_exactly_one_default_the_first_by_sort_order_then_name(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    calendar_make(person, "Zeta", sort_order=1)
    calendar_make(person, "Beta", sort_order=2)
    calendar_make(person, "Alpha", sort_order=2, is_default=False)
    assert [name for name, item in calendars(person).items() if item["isDefault"]] == ["Zeta"]


def test_two_defaults_from_the_cache_become_one(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    calendar_make(person, "Second", sort_order=5, is_default=True)
    calendar_make(person, "First", sort_order=1, is_default=True)
    assert [name for name, item in calendars(person).items() if item["isDefault"]] == ["First"]
    assert Calendar.objects.filter(account=alice.account, is_default=True).count() == 1


def test_properties_and_ids_select_what_is_returned(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    wanted = calendar_make(person, "Wanted")
    calendar_make(person, "Other")
    result = person.ok("Calendar/get", ids=[wanted.jmap_id, "knothing"], properties=["name", "myRights"])
    assert result["list"] == [{"id": wanted.jmap_id, "name": "Wanted", "myRights": ALL_RIGHTS}]
    assert result["notFound"] == ["knothing"]
    assert person.error("Calendar/get", ids=None, properties=["colour"])["type"] == "invalidArguments"
    assert person.error("Calendar/get", ids="kall")["type"] == "invalidArguments"


def test_changes_report_created_updated_and_destroyed(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    kept = calendar_make(person, "Kept")
    state = person.ok("Calendar/get", ids=[])["state"]
    added = calendar_make(person, "Added")
    gone = calendar_make(person, "Gone")
    person.ok("Calendar/set", update={kept.jmap_id: {"isVisible": False}})
    Calendar.objects.filter(pk=gone.pk).update(destroyed=True)
    with state_change_atomic(account=alice.account, type_names=["Calendar"]) as modseq:
        Calendar.objects.filter(pk=gone.pk).update(updated_modseq=modseq)
    changes = person.ok("Calendar/changes", sinceState=state)
    assert changes["created"] == [added.jmap_id]
    assert changes["updated"] == [kept.jmap_id]
    assert changes["destroyed"] == []  # created and destroyed since the state: not reported at all
    assert person.ok("Calendar/changes", sinceState=changes["newState"])["updated"] == []
    assert person.error("Calendar/changes", sinceState="nonsense")["type"] == "cannotCalculateChanges"


def test_mallory_cannot_read_alices_calendars(alice: Persona, mallory: Persona) -> None:
    alices = CalendarsPerson.of(alice)
    secret = calendar_make(alices, "Secret")
    intruder = CalendarsPerson.of(mallory)
    response_name, result = intruder.call("Calendar/get", accountId=alices.account_id, ids=[secret.jmap_id])
    assert (response_name, result["type"]) == ("error", "accountNotFound")
    assert intruder.ok("Calendar/get", ids=[secret.jmap_id])["notFound"] == [secret.jmap_id]


def test_an_account_without_caldav_is_not_supported(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    alice.account.caldav_url = ""
    alice.account.save(update_fields=["caldav_url"])
    assert person.error("Calendar/get", ids=None)["type"] == "accountNotSupportedByMethod"
    assert person.error("Calendar/get", ids=None, using=[CORE_CAPABILITY])["type"] == "unknownMethod"
