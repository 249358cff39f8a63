{{ config(severity='warn') }}
-- When all four banks are supplied the computed rank wins; a reported rank that disagrees
-- is worth a look by the line of business, not a stopped run.
select
    peer_standing_key,
    computed_rank,
    reported_rank
from {{ ref('fct_peer_standings') }}
where computed_rank is not null
    and reported_rank is not null
    and computed_rank <> reported_rank
