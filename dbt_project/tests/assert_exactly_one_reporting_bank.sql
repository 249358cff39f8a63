-- The briefs are one bank's: the peer_banks seed must name exactly one reporting bank.
select count(*) as reporting_banks
from {{ ref('peer_banks') }}
where is_reporting_bank
having count(*) <> 1
