-- The departments' own words (docs/submission-contract.md, "Highlights"): up to six items
-- per line of business per month, loaded by strategy_briefs.ingest.highlights.
create table if not exists raw.lob_highlights (
    load_id bigint not null references raw.load_audit (load_id),
    period date not null,
    lob_code text not null,
    item_no smallint not null check (item_no between 1 and 6),
    opener text,
    body text not null,
    source_file text not null,
    source_row integer not null,
    primary key (period, lob_code, item_no)
);

-- One audit table for every submission; the kind says which. Existing rows are figures.
alter table raw.load_audit add column if not exists submission text not null default 'figures';
do $$
begin
    if not exists (
        select 1 from pg_constraint where conname = 'load_audit_submission_check'
    ) then
        alter table raw.load_audit
            add constraint load_audit_submission_check
            check (submission in ('figures', 'highlights'));
    end if;
end $$;
