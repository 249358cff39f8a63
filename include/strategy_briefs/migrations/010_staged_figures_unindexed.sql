-- The staging area's rows without an index (issue 15): raw.staged_figures holds only the
-- files of runs not yet published, so the publish's read of a staged file and the cascade
-- of its delete scan a small table, while keeping the index cost every staged row a btree
-- insert (a 1M-row file's staging COPY about twice as long, docs/benchmarks.md).
drop index if exists raw.staged_figures_stage_id;
