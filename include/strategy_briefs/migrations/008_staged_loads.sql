-- A month is all or nothing (issue 17): each line of business's file is first COPYed into
-- the staging area below, in its own task; one publish step then moves the whole month's
-- lines into raw.lob_figures in a single transaction (strategy_briefs.ingest.loading).
-- A run killed or failed before the publish commits leaves raw.lob_figures as it was.
--
-- Staged files are keyed by run (`run_key`: the Airflow run id, or a fresh key for a load
-- outside Airflow), so two runs of one month never mix. The 'loaded' audit row is written
-- by the publish, so raw.load_audit keeps meaning "these rows are in raw.lob_figures".
--
-- Both tables are UNLOGGED: the staged rows are written once more by the publish, and
-- writing them to the WAL as well cost a fifth of a 1M-row load (docs/benchmarks.md). A
-- clean stop or restart keeps them; a server crash empties both tables together (which
-- is why the file list is unlogged too), and the publish then finds the month not staged
-- and changes nothing: the loads run again. They are not replicated, which staging needs
-- not be.

create unlogged table if not exists raw.staged_loads (
    stage_id bigint generated always as identity primary key,
    run_key text not null,
    period date not null,
    lob_code text not null,
    source_file text not null,
    source_sha256 text not null,
    source_size bigint,
    source_encoding text,
    row_count integer not null,
    demo_rows integer not null default 0,
    staged_at timestamptz not null default now(),
    -- A retry of the same run stages the line again: it replaces the earlier try.
    unique (run_key, period, lob_code)
);

-- raw.lob_figures' columns and checks, with the staged file instead of the load. No
-- primary key: the validation reports a duplicate row itself (FILE:ROW:COLUMN), and
-- raw.lob_figures' key still holds at the publish.
create unlogged table if not exists raw.staged_figures (
    stage_id bigint not null references raw.staged_loads (stage_id) on delete cascade,
    period date not null,
    lob_code text not null,
    kpi_code text not null,
    entity_type text not null check (entity_type in ('bank', 'branch')),
    entity_code text not null,
    value_submitted text not null,
    unit_submitted text not null,
    value_base numeric not null,
    qualifier text check (qualifier in ('超过', '近', '余')),
    note text,
    is_demo_data boolean not null default false,
    source_file text not null,
    source_row integer not null
);

-- The publish reads a staged file's rows, and the cascade deletes them, by stage_id.
create index if not exists staged_figures_stage_id on raw.staged_figures (stage_id);

-- Grants: repeatable/grants.sql (only the loader touches the staging area).
