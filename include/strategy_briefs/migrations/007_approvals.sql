-- Editor approvals (maker-checker): one row per decision on a month's rendered briefs.
-- The send is authorised by an 'approved' row of its own Airflow run whose PDF hashes are
-- the ones being sent; every ledger row names the approval it was sent under.
create schema if not exists delivery;

create table if not exists delivery.approvals (
    approval_id bigint generated always as identity primary key,
    period date not null,
    run_id text not null,
    -- required: an editor decided in the Airflow UI (or at the terminal of `strategy-briefs
    -- run`); auto: STRATEGY_BRIEFS_APPROVAL=auto (demo and tests only), nobody looked.
    policy text not null check (policy in ('required', 'auto')),
    decision text not null check (decision in ('approved', 'rejected')),
    decided_by text not null,
    decided_at timestamptz not null,
    comment text not null default '',
    pdf_sha256 jsonb not null,  -- {brief_id: sha256} of the PDFs the decision is about
    recorded_at timestamptz not null default now()
);

create index if not exists approvals_run_idx on delivery.approvals (run_id, approval_id);

alter table delivery.ledger
    add column if not exists approval_id bigint references delivery.approvals (approval_id);
