"""A feature table of N customers for `lookalike score` benchmarks: the bundled sample's features
(data/sample, as of 2026-01-01), repeated with new ids. Every stage then does real work on every
row (buyers and prospects, segments, clusters, audiences) in the sample's proportions.

usage: python3 benches/scoring_base.py SAMPLE_FEATURES.parquet N OUT.parquet
"""
import sys

import pyarrow as pa
import pyarrow.parquet as pq

sample_path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sample = pq.read_table(sample_path)
rows = sample.num_rows
writer = pq.ParquetWriter(out, sample.schema, compression="snappy")
id_at = sample.schema.get_field_index("customer_id")
sample_ids = sample.column("customer_id").to_pylist()
written = 0
copy = 0
group = []
while written < n:
    take = min(rows, n - written)
    part = sample.slice(0, take)
    ids = pa.array([f"R{copy:05d}-{i}" for i in sample_ids[:take]], type=pa.string())
    group.append(part.set_column(id_at, sample.schema.field(id_at), ids))
    written += take
    copy += 1
    if sum(t.num_rows for t in group) >= 1 << 20 or written == n:
        writer.write_table(pa.concat_tables(group), row_group_size=1 << 20)
        group = []
writer.close()
print(f"wrote {written} customers to {out}")
