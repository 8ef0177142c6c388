"""Generate the raw tables of WT-05 "The Fan-Out Bug" (acme's shop, March 4-18 2024).

Deterministic and stdlib-only: run it from anywhere and it rewrites the six CSVs next to it.

    python datasets/wt05_fan_out/generate.py

What the data must hold (the README explains why):
- every order has at least one line item and its amount is exactly the sum of quantity * unit_price of its items;
- each day's orders, items and new customers land in one batch at 01:30 the next day;
- finance's daily close (completed orders only) lands at 06:00 the next day and matches the orders to the cent;
- the dbt job runs daily at 07:00; the run after PR #212 (deployed Mar 18, 16:40) takes longer in proportion to the
  rows stg_orders gained by joining the line items.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent
SEED = 4

FIRST_DAY = dt.date(2024, 3, 4)  # Monday
LAST_DAY = dt.date(2024, 3, 18)  # Monday, the day of the deploy
BATCH_TIME = dt.time(1, 30)  # a day's orders, items and signups land at 01:30 the next day
FINANCE_TIME = dt.time(6, 0)  # finance's daily close lands at 06:00 the next day
RUN_TIME = dt.time(7, 0)  # the daily dbt job
BAD_DEPLOY_AT = dt.datetime(2024, 3, 18, 16, 40)

CENT = Decimal("0.01")

FIRST_NAMES = [
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya",
    "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Martin", "Okafor", "Nguyen", "Patel", "Rossi", "Haddad", "Kim", "Laurent", "Silva", "Berg", "Tanaka",
    "Murphy", "Novak", "Schmidt", "Ivanova", "Garcia", "Lee", "Costa", "Aziz", "Brown", "Khan", "Moreau",
]
REGIONS = ["north", "south", "east", "west"]

# product_id -> unit price: accessories and consumables first, big-ticket items last
CATALOG = {
    101: "4.50", 102: "6.90", 103: "8.00", 104: "9.95", 105: "12.50", 106: "14.00", 107: "15.90", 108: "18.00",
    109: "19.99", 110: "22.50", 111: "24.00", 112: "27.90", 113: "29.99", 114: "34.50", 115: "39.00",
    116: "44.90", 117: "49.99", 118: "59.00", 119: "64.50", 120: "79.00", 121: "89.90", 122: "109.00",
    123: "129.00", 124: "149.00", 125: "189.00",
}
PRODUCTS = sorted(CATALOG)
SMALL = PRODUCTS[:14]  # under 35
BIG = PRODUCTS[14:]

# line items per order: mostly several, some single-item orders
ITEM_COUNTS = [1, 2, 3, 4, 5, 6]
ITEM_WEIGHTS = [22, 16, 26, 20, 11, 5]


def ts(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def days() -> list[dt.date]:
    n = (LAST_DAY - FIRST_DAY).days + 1
    return [FIRST_DAY + dt.timedelta(days=i) for i in range(n)]


def batch_time(rng: random.Random, day: dt.date, at: dt.time) -> dt.datetime:
    """When the batch of ``day`` lands (the next day at ``at``, a few seconds late)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), at) + dt.timedelta(seconds=rng.randint(3, 58))


def make_customers(rng: random.Random, landed: dict[dt.date, dt.datetime]) -> list[dict]:
    # 46 customers before the window, 14 during it (the last on the last day, so the table stays fresh)
    early = sorted(dt.date(2024, 1, 2) + dt.timedelta(days=rng.randint(0, 60)) for _ in range(46))
    late = sorted([LAST_DAY] + [FIRST_DAY + dt.timedelta(days=rng.randint(0, 13)) for _ in range(13)])
    pairs = rng.sample([(f, l) for f in FIRST_NAMES for l in LAST_NAMES], 60)
    customers = []
    for customer_id, (signup, (first, last)) in enumerate(zip(early + late, pairs), start=1):
        if signup not in landed:  # the nightly batches before the window
            landed[signup] = batch_time(rng, signup, BATCH_TIME)
        loaded = landed[signup]
        customers.append({
            "customer_id": customer_id,
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "signup_date": signup.isoformat(),
            "region": rng.choice(REGIONS),
            "_loaded_at": ts(loaded),
        })
    return customers


def make_items(rng: random.Random) -> list[tuple[int, int, Decimal]]:
    """(product_id, quantity, unit_price) of one order's lines."""
    n = rng.choices(ITEM_COUNTS, ITEM_WEIGHTS)[0]
    if n == 1:
        # a single line: often one big-ticket item, sometimes several of a consumable
        if rng.random() < 0.75:
            product, quantity = rng.choice(BIG), rng.choice([1, 1, 1, 2])
        else:
            product, quantity = rng.choice(SMALL), rng.randint(2, 6)
        return [(product, quantity, Decimal(CATALOG[product]))]
    products = rng.sample(PRODUCTS if n <= 3 else SMALL + BIG[:2], n)
    return [(p, rng.choice([1, 1, 1, 2]), Decimal(CATALOG[p])) for p in products]


def generate() -> dict[str, list[dict]]:
    rng = random.Random(SEED)
    landed = {day: batch_time(rng, day, BATCH_TIME) for day in days()}
    customers = make_customers(rng, dict(landed))

    orders, items = [], []
    order_id, item_id = 1001, 1
    for day in days():
        known = [c for c in customers if c["signup_date"] <= day.isoformat()]
        for _ in range(rng.randint(14, 24)):
            lines = make_items(rng)
            for product, quantity, price in lines:
                items.append({
                    "order_item_id": item_id,
                    "order_id": order_id,
                    "product_id": product,
                    "quantity": quantity,
                    "unit_price": money(price),
                    "_loaded_at": ts(landed[day]),
                })
                item_id += 1
            orders.append({
                "order_id": order_id,
                "customer_id": rng.choice(known)["customer_id"],
                "order_date": day.isoformat(),
                "amount": money(sum(q * p for _, q, p in lines)),
                "status": "returned" if rng.random() < 0.06 else "completed",
                "_loaded_at": ts(landed[day]),
            })
            order_id += 1

    finance = []
    for day in days():
        completed = [o for o in orders if o["order_date"] == day.isoformat() and o["status"] == "completed"]
        finance.append({
            "revenue_date": day.isoformat(),
            "booked_revenue": money(sum(Decimal(o["amount"]) for o in completed)),
            "booked_orders": len(completed),
            "_loaded_at": ts(batch_time(rng, day, FINANCE_TIME)),
        })

    deploys = []
    for number, (at, pr, title, author, changed) in enumerate([
        (dt.datetime(2024, 3, 7, 14, 12), 205, "Document stg_customers columns", "priya.raman", "stg_customers"),
        (dt.datetime(2024, 3, 12, 11, 26), 209, "Add order_week to fct_orders", "tom.becker", "fct_orders"),
        (BAD_DEPLOY_AT, 212, "Add order item detail (quantity, unit_price) to stg_orders", "dani.kowalski",
         "stg_orders"),
    ], start=1):
        deploys.append({
            "deploy_id": f"dep_{number:03d}",
            "deployed_at": ts(at),
            "pr_number": pr,
            "title": title,
            "author": author,
            "models_changed": changed,
            "_loaded_at": ts(at + dt.timedelta(seconds=rng.randint(20, 90))),
        })

    runs = []
    for number, day in enumerate(days(), start=1):
        start = dt.datetime.combine(day + dt.timedelta(days=1), RUN_TIME) + dt.timedelta(seconds=rng.randint(0, 9))
        if start < BAD_DEPLOY_AT:
            duration = rng.randint(40, 50)
        else:
            # the run scans stg_orders (a view) for every mart: it takes longer as the view has more rows
            known = [o for o in orders if o["_loaded_at"] <= ts(start)]
            ids = {o["order_id"] for o in known}
            rows = sum(1 for i in items if i["order_id"] in ids)
            recent = [r["duration_seconds"] for r in runs[-7:]]
            duration = round(sum(recent) / len(recent) * rows / len(known))
        runs.append({
            "run_id": f"run_{number:03d}",
            "run_date": ts(start),
            "status": "success",
            "exit_code": 0,
            "models_run": "all",
            "duration_seconds": duration,
            "_loaded_at": ts(start + dt.timedelta(seconds=duration)),
        })

    check(orders, items, finance)
    return {
        "raw_customers": customers,
        "raw_orders": orders,
        "raw_order_items": items,
        "raw_finance_revenue": finance,
        "raw_deploys": deploys,
        "raw_pipeline_runs": runs,
    }


def check(orders: list[dict], items: list[dict], finance: list[dict]) -> None:
    """The invariants the incident rests on."""
    totals: dict[int, Decimal] = {}
    for item in items:
        line_total = item["quantity"] * Decimal(item["unit_price"])
        totals[item["order_id"]] = totals.get(item["order_id"], Decimal(0)) + line_total
    for order in orders:
        assert order["order_id"] in totals, f"order {order['order_id']} has no item"
        assert Decimal(order["amount"]) == totals[order["order_id"]], f"order {order['order_id']}: amount != items"
    booked = sum(Decimal(f["booked_revenue"]) for f in finance)
    assert booked == sum(Decimal(o["amount"]) for o in orders if o["status"] == "completed")


def write(tables: dict[str, list[dict]]) -> None:
    for name, rows in tables.items():
        with (HERE / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    write(generate())
