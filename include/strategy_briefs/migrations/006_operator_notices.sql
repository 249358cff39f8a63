-- Operator notices, written before they are sent: a notice the mail server refuses (the
-- outage it may be about) stays here unsent, for the next run and the CLI to show.
create schema if not exists audit;

create table if not exists audit.operator_notices (
    notice_id bigint generated always as identity primary key,
    noticed_at timestamptz not null default now(),
    run_id text,
    task_id text,
    reason text not null,
    line text not null,
    sent_at timestamptz,  -- null: not (yet) accepted for every operator
    send_outcome text  -- what the mail server said, per operator
);

create index if not exists operator_notices_unsent
    on audit.operator_notices (noticed_at) where sent_at is null;
