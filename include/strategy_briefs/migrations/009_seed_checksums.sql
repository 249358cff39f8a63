-- dbt's checksum of each seed's CSV as the run that built it saw it: a month's run builds a
-- seed only when its file has changed since (orchestration/cosmos_config.SeedBuildWhenChanged).
alter table audit.dbt_node_results add column if not exists seed_checksum text;
