"""Two 10M-row score files as `lookalike score` writes them, for timing `lookalike migrate`.

Usage: python benches/wide_score_files.py SCORES.csv OUT_DIR [REPEATS]

SCORES.csv is a real `score` output (e.g. the bundled model on the sample:
`lookalike score --model models/sample --transactions data/sample/transactions.csv
--events data/sample/events.csv --customers data/sample/customers.csv --out s.csv`). It is tiled
REPEATS times (default 2,000: 10M rows from the sample's 5,000) with distinct ids into
OUT_DIR/before.csv; OUT_DIR/after.csv is the same with each tile's rfm_segment shuffled, so
that customers move between segments.
"""
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


def main(scores: str, out: str, repeats: int = 2000) -> None:
    names = Path(scores).read_text().split("\n", 1)[0].split(",")
    base = pacsv.read_csv(scores, convert_options=pacsv.ConvertOptions(
        strings_can_be_null=False, column_types={c: pa.string() for c in names}))
    rng = np.random.default_rng(1)
    n = base.num_rows
    segment = base.schema.get_field_index("rfm_segment")
    for name, shuffle in [("before.csv", False), ("after.csv", True)]:
        path = Path(out) / name
        with open(path, "w") as f:
            f.write(",".join(names) + "\n")
        with open(path, "ab") as f, pacsv.CSVWriter(
                f, base.schema, write_options=pacsv.WriteOptions(
                    include_header=False, quoting_style="none")) as writer:
            for r in range(repeats):
                tile = base.set_column(
                    0, "customer_id", pa.array([f"C{r:05d}{i:05d}" for i in range(n)]))
                if shuffle:
                    tile = tile.set_column(segment, "rfm_segment",
                                           tile.column(segment).take(rng.permutation(n)))
                writer.write_table(tile)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:]))
