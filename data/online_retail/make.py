"""Writes `transactions.csv`: a small shop export in the layout of the public UCI "Online Retail"
data set (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country), generated here from a fixed seed — not the UCI data. It has what makes that layout
hard: no line amount (quantity × unit price), cancellations as invoices `C…` with negative
quantities, about a quarter of the lines without a customer id (guest checkouts), customer ids
written as floats (`12346.0`, as pandas writes an integer column with gaps), dates written
`12/1/2010 8:26`, and the country on every line.

    python data/online_retail/make.py   # rewrites data/online_retail/transactions.csv
"""

import csv
import datetime
import pathlib
import random

SEED = 22
CUSTOMERS = 150
COUNTRIES = ["United Kingdom"] * 8 + ["Germany", "France", "EIRE", "Spain", "Netherlands"]
PRODUCTS = [
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55),
    ("71053", "WHITE METAL LANTERN", 3.39),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75),
    ("22423", "REGENCY CAKESTAND 3 TIER", 12.75),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25),
    ("22633", "HAND WARMER UNION JACK", 1.85),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT", 1.69),
    ("22086", "PAPER CHAIN KIT 50'S CHRISTMAS", 2.95),
    ("47566", "PARTY BUNTING", 4.95),
    ("POST", "POSTAGE", 18.0),
]
START = datetime.datetime(2010, 12, 1, 8, 0)
DAYS = 365


def stamp(moment):
    # The layout's own format: month/day/year, hours without a leading zero.
    return f"{moment.month}/{moment.day}/{moment.year} {moment.hour}:{moment.minute:02d}"


def main():
    rng = random.Random(SEED)
    customers = [
        (12346 + 7 * i, rng.choice(COUNTRIES) if i % 5 else "United Kingdom")
        for i in range(CUSTOMERS)
    ]
    invoices = []
    for customer, country in customers:
        for _ in range(rng.randint(1, 9)):
            moment = START + datetime.timedelta(
                days=rng.randrange(DAYS), hours=rng.randrange(10), minutes=rng.randrange(60)
            )
            # Some customers shop from abroad now and then: the most frequent country wins.
            where = country if rng.random() > 0.1 else rng.choice(COUNTRIES)
            invoices.append((moment, customer, where))
    # Guest checkouts: invoices without a customer id.
    for _ in range(len(invoices) // 3):
        moment = START + datetime.timedelta(days=rng.randrange(DAYS), hours=rng.randrange(10))
        invoices.append((moment, None, rng.choice(COUNTRIES)))
    invoices.sort(key=lambda invoice: invoice[0])
    rows = []
    for number, (moment, customer, country) in enumerate(invoices, start=536365):
        lines = [
            (code, name, price, rng.choice([1, 2, 3, 4, 6, 12, 24]))
            for code, name, price in rng.sample(PRODUCTS, rng.randint(1, 5))
        ]
        cid = "" if customer is None else f"{customer}.0"
        for code, name, price, quantity in lines:
            rows.append([str(number), code, name, quantity, stamp(moment), price, cid, country])
        # About one invoice in twelve is partly cancelled a few days later.
        if customer is not None and rng.random() < 0.08:
            code, name, price, quantity = lines[0]
            later = moment + datetime.timedelta(days=rng.randint(1, 5), hours=1)
            if later < START + datetime.timedelta(days=DAYS):
                rows.append([f"C{number}", code, name, -quantity, stamp(later), price, cid, country])
    rows.sort(key=lambda row: datetime.datetime.strptime(row[4], "%m/%d/%Y %H:%M"))
    out = pathlib.Path(__file__).with_name("transactions.csv")
    with out.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
             "CustomerID", "Country"]
        )
        writer.writerows(rows)
    print(f"wrote {out}: {len(rows)} lines")


if __name__ == "__main__":
    main()
