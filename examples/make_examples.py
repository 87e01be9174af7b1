"""Writes the small example data files of docs/own_data.md, one per pattern (seeded: the same files every run).

- ``tickets.csv``: short customer-support tickets labelled billing, login, shipping or bug (a classifier);
  made from templates, some with commas, quotes and line breaks inside their quoted text field.
- ``dates.tsv``: a date written as people write it, tab, the same date in ISO 8601 (a character-level
  sequence-to-sequence task), e.g. ``March 3, 1999<TAB>1999-03-03``.
- ``tempest.txt``: the opening of Shakespeare's *The Tempest* (public domain), the last 34,655 characters
  of Tiny Shakespeare (a character-level generator).

Run from the repository root: ``python examples/make_examples.py [--shakespeare input.txt]``. Without
``--shakespeare``, Tiny Shakespeare comes from ``$ZOO_DATA_DIR`` or is downloaded (sha256 checked).
"""

import argparse
import calendar
import csv
import datetime
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 0
TEMPEST_START = "Master:\nBoatswain!\n"  # The Tempest, act 1 scene 1, the last play in Tiny Shakespeare

TICKETS = {
    "billing": [
        "I was charged twice for my {plan} plan this month",
        "Why did my invoice go up to {amount}?",
        "Please refund the {amount} you took from my card on {day}",
        "My card was declined but the money left my account",
        "Can I get a receipt for the {plan} subscription, with our VAT number?",
        "You billed me after I cancelled on {day}",
        "The {plan} plan price on the invoice is not what the website says",
        "How do I change the credit card you charge each month?",
    ],
    "login": [
        "I can't log in, it says my password is wrong",
        "The password reset email never arrives",
        "My account got locked after three tries on {day}",
        "Two-factor code is not accepted on the {device}",
        "I changed my email and now cannot sign in",
        "Login page keeps sending me back to the start on my {device}",
        "How do I reset my password if I lost access to my old email?",
        "Someone else seems to have signed in to my account",
    ],
    "shipping": [
        "My parcel has not arrived, it was due on {day}",
        "The tracking number shows nothing since {day}",
        "Can you ship to {country}?",
        "Order {order} arrived damaged, the box was crushed",
        "I got the wrong item in order {order}",
        "How long does delivery to {country} take?",
        "The courier left my package at the wrong address",
        "Please change the delivery address for order {order}",
    ],
    "bug": [
        "The app crashes when I open {screen} on my {device}",
        "I get error {code} when saving {screen}",
        "The {screen} page is blank since the last update",
        "Buttons on {screen} do nothing when I tap them",
        "Export to PDF produces an empty file",
        "The app freezes on my {device} after a minute",
        "Search returns results that do not match what I typed",
        "Dark mode makes the text on {screen} unreadable",
    ],
}
OPENERS = ["", "", "", "Hi, ", "Hello, ", "Hi team, ", "Urgent: ", "Good morning. "]
CLOSERS = ["", "", "", " Thanks.", " Thanks, {name}", " Please help!", " This is the second time I write.",
           "\nRegards,\n{name}"]
SLOTS = {
    "plan": ["Basic", "Pro", "Team", "yearly", "monthly"],
    "amount": ["$12.99", "$49", "€20", "£7.50", "$120"],
    "day": ["Monday", "Friday", "the 3rd", "March 12", "last week", "yesterday"],
    "device": ["iPhone", "Android phone", "laptop", "tablet", "Chromebook"],
    "country": ["Canada", "Germany", "Brazil", "Japan", "Kenya", "New Zealand"],
    "order": ["#10482", "#22917", "#30301", "#45120", "#58833"],
    "screen": ["Settings", "the dashboard", "Reports", "my profile", "the calendar"],
    "code": ["500", "E42", "\"null reference\"", "403", "0x80004005"],
    "name": ["Ana", "Tom", "Priya", "Kenji", "Olu", "Marta"],
}
MONTH_FORMATS = [
    lambda d: f"{calendar.month_name[d.month]} {d.day}, {d.year}",  # March 3, 1999
    lambda d: f"{d.day} {calendar.month_name[d.month]} {d.year}",  # 3 March 1999
    lambda d: f"{calendar.month_abbr[d.month]} {d.day}, {d.year}",  # Mar 3, 1999
    lambda d: f"{d.day} {calendar.month_abbr[d.month]} {d.year}",  # 3 Mar 1999
    lambda d: f"{calendar.day_name[d.weekday()]}, {calendar.month_name[d.month]} {d.day}, {d.year}",
    lambda d: f"{calendar.month_name[d.month].lower()} {d.day} {d.year}",  # march 3 1999
]


def fill(template, rng):
    return template.format(**{key: rng.choice(values) for key, values in SLOTS.items()})


def ticket(templates, rng):
    opener, body = rng.choice(OPENERS), rng.choice(templates)
    if opener.endswith(", ") and not body.startswith("I "):
        body = body[0].lower() + body[1:]
    end = "" if body.endswith("?") else rng.choice([".", "", "!"])
    return fill(opener + body + end + rng.choice(CLOSERS), rng)


def write_tickets(path, rng, per_label=100):
    rows = [(ticket(templates, rng), label) for label, templates in TICKETS.items() for _ in range(per_label)]
    rng.shuffle(rows)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)  # quotes the fields holding commas, quotes or line breaks
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def write_dates(path, rng, count=3000):
    first, last = datetime.date(1950, 1, 1).toordinal(), datetime.date(2049, 12, 31).toordinal()
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for _ in range(count):
            date = datetime.date.fromordinal(rng.randint(first, last))
            f.write(f"{rng.choice(MONTH_FORMATS)(date)}\t{date.isoformat()}\n")


def write_tempest(path, shakespeare):
    if shakespeare is None:
        from zoo.data import download, shakespeare as tiny

        shakespeare = tiny.find_input() or download(tiny.URL, tiny.SHA256, folder="datasets/tinyshakespeare")
    text = Path(shakespeare).read_text(encoding="utf-8")
    path.write_text(text[text.index(TEMPEST_START):], encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shakespeare", help="Tiny Shakespeare's input.txt (default: $ZOO_DATA_DIR, else download)")
    args = parser.parse_args()
    rng = random.Random(SEED)
    write_tickets(HERE / "tickets.csv", rng)
    write_dates(HERE / "dates.tsv", rng)
    write_tempest(HERE / "tempest.txt", args.shakespeare)


if __name__ == "__main__":
    main()
