"""Generate the raw tables of WT-05 "The Fan-Out Bug" (acme's shop, March 4-18 2024).

Deterministic and stdlib-only: run it from anywhere and it rewrites the six CSVs next to it, and those of every
variant in variants/<name>/ (scenario.toml's [[variants]] describe them; VARIANTS below says what each is for).

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
import dataclasses
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
FREE_PRODUCT = 190  # a replacement shipped free of charge (variants only)

HOME_DEPLOYS = (
    (dt.datetime(2024, 3, 7, 14, 12), 205, "Document stg_customers columns", "priya.raman", "stg_customers"),
    (dt.datetime(2024, 3, 12, 11, 26), 209, "Add order_week to fct_orders", "tom.becker", "fct_orders"),
    (BAD_DEPLOY_AT, 212, "Add order item detail (quantity, unit_price) to stg_orders", "dani.kowalski", "stg_orders"),
)


@dataclasses.dataclass(frozen=True)
class Version:
    """The parameters of one version of the incident: the module's own (the defaults) or a variant's.

    The defaults draw the same random numbers in the same order as ever: the module's CSVs never change.
    """

    seed: int = SEED
    item_counts: tuple[int, ...] = tuple(ITEM_COUNTS)
    item_weights: tuple[int, ...] = tuple(ITEM_WEIGHTS)
    orders_per_day: tuple[int, int] = (14, 24)
    # every order of these days has a single line: the fan-out leaves their revenue right
    single_line_days: tuple[dt.date, ...] = ()
    # every order of these days is returned: finance books the day with nothing, the revenue mart has no row
    returned_days: tuple[dt.date, ...] = ()
    # share of the orders of several lines that repeat a product on a second line
    repeat_product_share: float = 0.0
    # a completed replacement order, free of charge, on each of these days: finance counts only orders that bring
    # revenue, the mart counts every completed order
    free_order_days: tuple[dt.date, ...] = ()
    # the nightly batch (customers, orders, items) of these days lands at that moment instead of 01:30
    late_batches: tuple[tuple[dt.date, dt.datetime], ...] = ()
    # finance's close of these days lands at that moment instead of 06:00 (after now: not in the warehouse)
    late_finance: tuple[tuple[dt.date, dt.datetime], ...] = ()
    # an order of that day entered in the shop after finance's close (finance never books it), landing then
    backdated_orders: tuple[tuple[dt.date, dt.datetime], ...] = ()
    # the days (of the order batches) whose 07:00 run the next morning did not happen
    skipped_runs: tuple[dt.date, ...] = ()
    # the 07:00 run after these days could not connect (status error, exit code 1); retried at that moment
    retried_runs: tuple[tuple[dt.date, dt.datetime], ...] = ()
    # the duration of the last run, instead of the one the rows of stg_orders give
    last_run_seconds: int | None = None
    deploys: tuple = HOME_DEPLOYS


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
    pairs = rng.sample([(first, last) for first in FIRST_NAMES for last in LAST_NAMES], 60)
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


def make_items(rng: random.Random, version: Version = Version(),
               single: bool = False) -> list[tuple[int, int, Decimal]]:
    """(product_id, quantity, unit_price) of one order's lines (a single one when ``single``)."""
    n = 1 if single else rng.choices(version.item_counts, version.item_weights)[0]
    if n == 1:
        # a single line: often one big-ticket item, sometimes several of a consumable
        if rng.random() < 0.75:
            product, quantity = rng.choice(BIG), rng.choice([1, 1, 1, 2])
        else:
            product, quantity = rng.choice(SMALL), rng.randint(2, 6)
        return [(product, quantity, Decimal(CATALOG[product]))]
    products = rng.sample(PRODUCTS if n <= 3 else SMALL + BIG[:2], n)
    if version.repeat_product_share and rng.random() < version.repeat_product_share:
        products[-1] = products[0]  # the same product again, on a line of its own
    return [(p, rng.choice([1, 1, 1, 2]), Decimal(CATALOG[p])) for p in products]


def generate(version: Version = Version()) -> dict[str, list[dict]]:
    rng = random.Random(version.seed)
    landed = {day: batch_time(rng, day, BATCH_TIME) for day in days()}
    landed.update(dict(version.late_batches))
    customers = make_customers(rng, dict(landed))

    orders, items = [], []
    order_id, item_id = 1001, 1

    def add_order(day: dt.date, lines: list, customer_id: int, status: str, loaded: dt.datetime) -> None:
        nonlocal order_id, item_id
        for product, quantity, price in lines:
            items.append({
                "order_item_id": item_id,
                "order_id": order_id,
                "product_id": product,
                "quantity": quantity,
                "unit_price": money(price),
                "_loaded_at": ts(loaded),
            })
            item_id += 1
        orders.append({
            "order_id": order_id,
            "customer_id": customer_id,
            "order_date": day.isoformat(),
            "amount": money(sum(q * p for _, q, p in lines)),
            "status": status,
            "_loaded_at": ts(loaded),
        })
        order_id += 1

    for day in days():
        known = [c for c in customers if c["signup_date"] <= day.isoformat()]
        for _ in range(rng.randint(*version.orders_per_day)):
            lines = make_items(rng, version, single=day in version.single_line_days)
            customer_id = rng.choice(known)["customer_id"]
            status = "returned" if rng.random() < 0.06 or day in version.returned_days else "completed"
            add_order(day, lines, customer_id, status, landed[day])
        if day in version.free_order_days:
            add_order(day, [(FREE_PRODUCT, 1, Decimal("0.00"))], rng.choice(known)["customer_id"], "completed",
                      landed[day])

    # orders entered after finance closed their day: they land late, finance never books them
    backdated = set()
    for day, moment in version.backdated_orders:
        known = [c for c in customers if c["signup_date"] <= day.isoformat()]
        backdated.add(order_id)
        add_order(day, make_items(rng, version, single=True), rng.choice(known)["customer_id"], "completed", moment)

    finance = []
    late_finance = dict(version.late_finance)
    for day in days():
        completed = [o for o in orders if o["order_date"] == day.isoformat() and o["status"] == "completed"
                     and o["order_id"] not in backdated]
        loaded = batch_time(rng, day, FINANCE_TIME)
        finance.append({
            "revenue_date": day.isoformat(),
            "booked_revenue": money(sum((Decimal(o["amount"]) for o in completed), Decimal(0))),
            "booked_orders": sum(1 for o in completed if Decimal(o["amount"]) > 0),  # orders that brought revenue
            "_loaded_at": ts(late_finance.get(day, loaded)),
        })

    deploys = []
    for number, (at, pr, title, author, changed) in enumerate(version.deploys, start=1):
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

    def add_run(start: dt.datetime, status: str, exit_code: int, duration: int) -> None:
        runs.append({
            "run_id": f"run_{len(runs) + 1:03d}",
            "run_date": ts(start),
            "status": status,
            "exit_code": exit_code,
            "models_run": "all",
            "duration_seconds": duration,
            "_loaded_at": ts(start + dt.timedelta(seconds=duration)),
        })

    retried = dict(version.retried_runs)
    for day in days():
        start = dt.datetime.combine(day + dt.timedelta(days=1), RUN_TIME) + dt.timedelta(seconds=rng.randint(0, 9))
        if day in version.skipped_runs:
            continue
        if day in retried:  # could not connect to the warehouse: built nothing
            add_run(start, "error", 1, rng.randint(3, 9))
            start = retried[day]
        if start < BAD_DEPLOY_AT:
            duration = rng.randint(40, 50)
        else:
            # the run scans stg_orders (a view) for every mart: it takes longer as the view has more rows
            known = [o for o in orders if o["_loaded_at"] <= ts(start)]
            ids = {o["order_id"] for o in known}
            rows = sum(1 for i in items if i["order_id"] in ids)
            recent = [r["duration_seconds"] for r in runs if r["status"] == "success"][-7:]
            duration = round(sum(recent) / len(recent) * rows / len(known))
        add_run(start, "success", 0, duration)
    if version.last_run_seconds is not None:
        last = runs.pop()
        add_run(dt.datetime.fromisoformat(last["run_date"]), "success", 0, version.last_run_seconds)

    check(orders, items, finance, backdated)
    return {
        "raw_customers": customers,
        "raw_orders": orders,
        "raw_order_items": items,
        "raw_finance_revenue": finance,
        "raw_deploys": deploys,
        "raw_pipeline_runs": runs,
    }


def check(orders: list[dict], items: list[dict], finance: list[dict], backdated: set[int] = frozenset()) -> None:
    """The invariants the incident rests on."""
    totals: dict[int, Decimal] = {}
    for item in items:
        line_total = item["quantity"] * Decimal(item["unit_price"])
        totals[item["order_id"]] = totals.get(item["order_id"], Decimal(0)) + line_total
    for order in orders:
        assert order["order_id"] in totals, f"order {order['order_id']} has no item"
        assert Decimal(order["amount"]) == totals[order["order_id"]], f"order {order['order_id']}: amount != items"
    booked = sum(Decimal(f["booked_revenue"]) for f in finance)
    assert booked == sum(Decimal(o["amount"]) for o in orders
                         if o["status"] == "completed" and o["order_id"] not in backdated)


def write(tables: dict[str, list[dict]], folder: Path = HERE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

# The variants' own data (scenario.toml's [[variants]] name them; their keys there shift the dates, shuffle the run
# ids, move the fix). Each one is there so that a class of wrong answers gives other values on it.
VARIANTS = {
    # Other baskets: mostly single lines, up to seven, some repeating a product (the inflation, the lines per order
    # and every total differ from the module's; "divide by 3" and typed-in values fail). A day of single-line orders
    # only (the fan-out leaves it right: it reconciles), a day of returned orders only (finance books it empty, the
    # mart has no row: left join, null counts), a free replacement order (finance counts orders that bring revenue:
    # the order counts disagree where the revenue agrees), finance's last close not landed by now (the mart has a
    # day finance lacks: start from finance), a run that could not connect and its retry within the last seven
    # (7 runs are not 7 days, failed runs count), two deploys upstream of the revenue mart in the window, one
    # more not upstream, and a last run just over twice as slow as the runs before it.
    "light_baskets": Version(
        seed=11,
        item_counts=(1, 2, 3, 4, 5, 6, 7),
        item_weights=(40, 24, 14, 9, 6, 4, 3),
        orders_per_day=(8, 13),
        single_line_days=(dt.date(2024, 3, 7),),
        returned_days=(dt.date(2024, 3, 10),),
        repeat_product_share=0.3,
        free_order_days=(dt.date(2024, 3, 13),),
        late_finance=((LAST_DAY, dt.datetime(2024, 3, 19, 10, 30, 21)),),
        retried_runs=((dt.date(2024, 3, 14), dt.datetime(2024, 3, 15, 9, 40, 12)),),
        # just over twice the mean of the 7 successful runs before it, under twice a mean that takes the run itself
        # in: a baseline whose window includes the current run misses the jump
        last_run_seconds=100,
        deploys=(
            (dt.datetime(2024, 3, 6, 10, 3), 301, "Document stg_customers columns", "priya.raman", "stg_customers"),
            (dt.datetime(2024, 3, 13, 15, 48), 304, "Add order_week to fct_orders", "tom.becker", "fct_orders"),
            (dt.datetime(2024, 3, 18, 10, 21), 307, "Rename loaded_at in stg_orders", "sam.ortiz", "stg_orders"),
            (BAD_DEPLOY_AT, 312, "Add order item detail (quantity, unit_price) to stg_orders", "dani.kowalski",
             "stg_orders"),
            (dt.datetime(2024, 3, 18, 17, 5), 313, "Describe the columns of stg_deploys", "tom.becker", "stg_deploys"),
        ),
    ),
    # Late rows: the last day's batch lands after the morning run (the mart lacks a day raw and finance have; the
    # view stg_orders has more rows than fct_orders) and after the fix (which then lacks it too: a booked day
    # missing from the healed mart), two orders entered after finance's close on days of single-line orders (one in
    # the mart, one landing after the run: the mart, raw and finance each disagree with one other), and no run on
    # the morning before the deploy (7 runs are not 7 days; the last two runs are two days apart, and the window
    # holds a deploy of the day before as well).
    "late_batch": Version(
        seed=23,
        orders_per_day=(9, 14),
        single_line_days=(dt.date(2024, 3, 12), dt.date(2024, 3, 15)),
        late_batches=((LAST_DAY, dt.datetime(2024, 3, 19, 8, 30, 14)),),
        backdated_orders=(
            (dt.date(2024, 3, 12), dt.datetime(2024, 3, 14, 1, 30, 40)),
            (dt.date(2024, 3, 15), dt.datetime(2024, 3, 19, 8, 10, 5)),
        ),
        skipped_runs=(dt.date(2024, 3, 17),),
        last_run_seconds=118,  # a second faster: the slowdown differs when the mean is rounded before dividing
        deploys=(
            (dt.datetime(2024, 3, 5, 9, 30), 401, "Document stg_customers columns", "priya.raman", "stg_customers"),
            (dt.datetime(2024, 3, 11, 13, 2), 405, "Add order_week to fct_orders", "tom.becker", "fct_orders"),
            (dt.datetime(2024, 3, 17, 15, 24), 409, "Rename loaded_at in stg_orders", "sam.ortiz", "stg_orders"),
            (BAD_DEPLOY_AT, 412, "Add order item detail (quantity, unit_price) to stg_orders", "dani.kowalski",
             "stg_orders"),
            (dt.datetime(2024, 3, 18, 17, 32), 413, "Add a duration bucket to stg_pipeline_runs", "sam.ortiz",
             "stg_pipeline_runs"),
        ),
    ),
    # A deeper graph (its dbt files are in variants/deeper_graph/dbt/): an intermediate model between stg_orders
    # and the revenue mart, one more staging model joining two sources, one more dashboard. Bigger baskets (the
    # inflation is higher), deploys around the window: one upstream just before it, one not upstream in it, one
    # upstream after the last run started; the bad one changes a model upstream but not a direct parent.
    "deeper_graph": Version(
        seed=37,
        item_weights=(8, 10, 20, 25, 22, 15),
        orders_per_day=(8, 12),
        deploys=(
            (dt.datetime(2024, 3, 6, 10, 41), 230, "Document stg_customers columns", "priya.raman", "stg_customers"),
            (dt.datetime(2024, 3, 17, 18, 5), 236, "Add the customer's region to int_completed_orders", "tom.becker",
             "int_completed_orders"),
            (dt.datetime(2024, 3, 18, 11, 2), 238, "Add order_week to fct_orders", "tom.becker", "fct_orders"),
            (BAD_DEPLOY_AT, 241, "Add order item detail (quantity, unit_price) to stg_orders", "dani.kowalski",
             "stg_orders"),
            (dt.datetime(2024, 3, 19, 8, 20), 242, "Rename loaded_at in stg_customer_orders", "priya.raman",
             "stg_customer_orders"),
        ),
    ),
}


if __name__ == "__main__":
    write(generate())
    for variant_name, variant in VARIANTS.items():
        write(generate(variant), HERE / "variants" / variant_name)
