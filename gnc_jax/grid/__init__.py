"""Grid runs: many (C, d, tau, n) cells solved in a few compiled batches, stored in SQLite."""
from .engine import Cell, bucket, expand_grid, format_table, iter_grid, padded_shape, parse_values, run_grid
from .store import GridStore, to_csv, to_dataframe, to_parquet

__all__ = ["Cell", "GridStore", "bucket", "expand_grid", "format_table", "iter_grid", "padded_shape",
           "parse_values", "run_grid", "to_csv", "to_dataframe", "to_parquet"]
