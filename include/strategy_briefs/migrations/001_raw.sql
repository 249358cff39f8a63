-- Raw landing zone for monthly submissions. Owned by the loader.
create schema if not exists raw;

create table if not exists raw.load_audit (
    load_id bigint generated always as identity primary key,
    period date not null,
    lob_code text not null,
    source_file text not null,
    source_sha256 text not null,
    row_count integer not null,
    loaded_at timestamptz not null default now(),
    status text not null default 'loaded'
);

create table if not exists raw.lob_figures (
    load_id bigint not null references raw.load_audit (load_id),
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
    source_row integer not null,
    primary key (period, lob_code, kpi_code, entity_type, entity_code)
);

-- Every load attempt is audited, rejected ones included (status 'rejected', with the
-- problems as reported to the author). Added as columns so existing databases migrate.
alter table raw.load_audit add column if not exists source_size bigint;
alter table raw.load_audit add column if not exists source_encoding text;
alter table raw.load_audit add column if not exists problem_count integer not null default 0;
alter table raw.load_audit add column if not exists problems jsonb;
alter table raw.load_audit add column if not exists run_id text;
do $$
begin
    if not exists (
        select 1 from pg_constraint where conname = 'load_audit_status_check'
    ) then
        alter table raw.load_audit
            add constraint load_audit_status_check check (status in ('loaded', 'rejected'));
    end if;
end $$;
create index if not exists load_audit_period_lob on raw.load_audit (period, lob_code);
