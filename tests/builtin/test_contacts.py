"""The Contacts built-in over vCard files and folders and CSV exports: search, get, and
malformed cards reported with their file and line while the rest still load."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from tests.builtin.conftest import Bundles, Running, running_builtin

pytestmark = pytest.mark.anyio

ADDRESS_BOOK = """BEGIN:VCARD
VERSION:3.0
UID:ada-1
FN:Ada Lovelace
N:Lovelace;Ada;;;
EMAIL;TYPE=WORK:ada@analytical.example
TEL;TYPE=CELL:+44 20 7946 0018
ORG:Analytical Engines Ltd;Research
TITLE:Mathematician
ADR;TYPE=HOME:;;12 St James's Square;London;;SW1Y 4JH;UK
BDAY:1815-12-10
NOTE:Wrote the first program.
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Broken Card
EMAIL;TYPE=WORK
END:VCARD
BEGIN:VCARD
VERSION:3.0
N:Hopper;Grace;;;
EMAIL:grace@navy.example
ORG:US Navy
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Never Closed
"""

CARD_4 = """BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
FN:Katherine Johnson
EMAIL:katherine@nasa.example
ORG:NASA Langley
END:VCARD
"""

GOOGLE_CSV = (
    "First Name,Middle Name,Last Name,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,"
    "Organization Name,Organization Title\n"
    "Alan,Mathison,Turing,* Home,alan@bletchley.example ::: turing@manchester.example,Mobile,+44 161 000,"
    "Bletchley Park,Cryptanalyst\n"
    ",,,,,,,,\n"
)

OUTLOOK_CSV = (
    "Title,First Name,Middle Name,Last Name,Company,Job Title,E-mail Address,E-mail 2 Address,Mobile Phone\n"
    "Dr.,Margaret,,Hamilton,MIT Instrumentation Lab,Director,margaret@mit.example,,+1 617 555 0100\n"
    "Mr.,Too,Few\n"
)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # module scope, so one server serves the tests here (it only reads)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    root = tmp_path_factory.mktemp("book")
    folder = root / "contacts"
    (folder / "sub").mkdir(parents=True)
    (folder / "people.vcf").write_text(ADDRESS_BOOK)
    (folder / "sub" / "katherine.vcf").write_text(CARD_4)
    (folder / "ignored.txt").write_text("FN:not a card")
    google, outlook, junk = root / "google.csv", root / "outlook.csv", root / "junk.csv"
    google.write_text(GOOGLE_CSV)
    outlook.write_text(OUTLOOK_CSV, encoding="utf-8-sig")
    junk.write_text("colour,size\nred,9\n")
    vanished = root / "vanished.vcf"  # chosen once, deleted since
    files = [str(google), str(outlook), str(junk), str(vanished)]
    return {"vcard_directories": [str(folder)], "contact_files": files}


@pytest.fixture(scope="module")
async def contacts(
    bundles: Bundles, book: dict[str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> AsyncGenerator[Running]:
    work = tmp_path_factory.mktemp("contacts")
    async with running_builtin("contacts", bundles, work, book, check_paths=False) as running:
        yield running


async def test_searches_by_name_email_and_organization(contacts: Running) -> None:
    everyone = await contacts.ok("search_contacts", query="")
    by_name = await contacts.ok("search_contacts", query="ada")
    by_email = await contacts.ok("search_contacts", query="manchester.example")
    by_org = await contacts.ok("search_contacts", query="nasa")
    by_two_words = await contacts.ok("search_contacts", query="grace navy")
    by_phone = await contacts.ok("search_contacts", query="5550100")
    limited = await contacts.ok("search_contacts", query="", limit=2)
    assert [c["name"] for c in everyone["contacts"]] == [
        "Ada Lovelace",
        "Alan Mathison Turing",
        "Grace Hopper",
        "Katherine Johnson",
        "Margaret Hamilton",
    ]
    assert [c["name"] for c in by_name["contacts"]] == ["Ada Lovelace"]
    assert by_email["contacts"][0]["emails"] == ["alan@bletchley.example", "turing@manchester.example"]
    assert [c["name"] for c in by_org["contacts"]] == ["Katherine Johnson"]
    assert [c["name"] for c in by_two_words["contacts"]] == ["Grace Hopper"]
    assert [c["name"] for c in by_phone["contacts"]] == ["Margaret Hamilton"]
    assert (limited["total_matches"], len(limited["contacts"]), limited["truncated"]) == (5, 2, True)


async def test_get_contact_returns_every_field(contacts: Running) -> None:
    found = await contacts.ok("search_contacts", query="lovelace")
    ada = await contacts.ok("get_contact", id=found["contacts"][0]["id"])
    outlook = await contacts.ok("search_contacts", query="hamilton")
    margaret = await contacts.ok("get_contact", id=outlook["contacts"][0]["id"])
    assert await contacts.refused("get_contact", id="no-such-id") == "unknown_contact"
    assert ada["organization"] == "Analytical Engines Ltd; Research"
    assert ada["title"] == "Mathematician"
    assert ada["phones"] == ["+44 20 7946 0018"]
    assert ada["birthday"] == "1815-12-10"
    assert "London" in ada["addresses"][0]
    assert ada["source"].endswith("people.vcf")
    assert (margaret["organization"], margaret["title"]) == ("MIT Instrumentation Lab", "Director")


async def test_ids_stay_the_same_across_restarts(
    contacts: Running, bundles: Bundles, book: dict[str, list[str]], tmp_path: Path
) -> None:
    first = await contacts.ok("search_contacts", query="")
    async with running_builtin("contacts", bundles, tmp_path, book, check_paths=False) as again:
        second = await again.ok("search_contacts", query="")
    assert [c["id"] for c in first["contacts"]] == [c["id"] for c in second["contacts"]]


async def test_malformed_cards_and_files_are_reported_not_fatal(contacts: Running) -> None:
    result = await contacts.ok("search_contacts", query="")
    problems = {(Path(p["source"]).name, p["line"]) for p in result["problems"]}
    assert problems == {
        ("people.vcf", 14),  # "Broken Card" (its EMAIL line has no value)
        ("people.vcf", 25),  # "Never Closed" has no END:VCARD
        ("outlook.csv", 3),  # a row with too few columns
        ("junk.csv", 1),  # no name or e-mail column
        ("vanished.vcf", None),
    }
    assert result["total_matches"] == 5
