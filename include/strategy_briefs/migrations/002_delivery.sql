-- Delivery ledger: one row per (period, brief, edition, recipient). Owned by delivery.
-- Protocol (strategy_briefs.delivery.send): the row is written with status 'intent' and
-- committed BEFORE the message goes to the SMTP server; the outcome is written after.
-- A row left in 'intent' by a killed process becomes 'unknown' and waits for an operator.
create schema if not exists delivery;

create table if not exists delivery.ledger (
    period date not null,
    brief_id text not null,
    edition integer not null check (edition >= 1),
    recipient text not null,
    pdf_sha256 text not null check (pdf_sha256 ~ '^[0-9a-f]{64}$'),
    status text not null
        check (status in ('intent', 'accepted', 'rejected', 'failed', 'unknown')),
    message_id text not null,
    smtp_response text,
    attempts integer not null default 1 check (attempts >= 1),
    intent_at timestamptz not null default now(),
    sent_at timestamptz,
    reissue_reason text,
    updated_at timestamptz not null default now(),
    primary key (period, brief_id, edition, recipient)
);

create index if not exists ledger_message_id_idx on delivery.ledger (message_id);
