"""A feature table for the audience benchmark: N customers with 20 features drawn from a mixture
of 8 Gaussian groups, and a seed list of 10,000 customers of group 0.

    python3 benches/audience_base.py DIR [CUSTOMERS]

Writes DIR/features.parquet (customer_id, f00..f19; snappy, row groups of 1M) and DIR/seeds.csv.
"""

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out = Path(sys.argv[1])
customers = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(6)
centres = rng.normal(0.0, 2.0, size=(8, 20))
group = rng.integers(0, 8, size=customers)
ids = np.char.add("C", np.char.zfill(np.arange(customers).astype(str), 9))
writer = None
chunk = 1_000_000
for start in range(0, customers, chunk):
    end = min(start + chunk, customers)
    values = centres[group[start:end]] + rng.normal(0.0, 1.0, size=(end - start, 20))
    columns = {"customer_id": pa.array(ids[start:end])}
    for j in range(20):
        columns[f"f{j:02d}"] = pa.array(values[:, j])
    table = pa.table(columns)
    if writer is None:
        writer = pq.ParquetWriter(out / "features.parquet", table.schema, compression="snappy")
    writer.write_table(table)
writer.close()
seeds = rng.choice(np.flatnonzero(group == 0), size=10_000, replace=False)
with open(out / "seeds.csv", "w") as f:
    f.write("customer_id\n")
    for i in np.sort(seeds):
        f.write(f"{ids[i]}\n")
print(f"wrote {customers} customers to {out}/features.parquet and 10000 seeds of group 0")
