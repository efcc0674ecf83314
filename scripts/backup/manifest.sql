-- What a backup must bring back, as counts and digests of ids: runs, event logs, asset
-- materializations, asset keys, schedule/sensor state and ticks. Same output on the source
-- at backup time and on the restored database, if nothing was lost.
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '
select 'runs', count(*), md5(coalesce(string_agg(run_id || ':' || status, ',' order by run_id), '')) from runs;
select 'event_logs', count(*), coalesce(max(id), 0), md5(coalesce(string_agg(id::text, ',' order by id), '')) from event_logs;
select 'asset_materializations', count(*), md5(coalesce(string_agg(id::text || ':' || coalesce(asset_key, ''), ',' order by id), ''))
  from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION';
select 'asset_keys', count(*), md5(coalesce(string_agg(asset_key, ',' order by asset_key), '')) from asset_keys;
select 'instigators', count(*), coalesce(string_agg(instigator_type || ':' || status, ',' order by selector_id), '-') from instigators;
select 'job_ticks', count(*), md5(coalesce(string_agg(id::text || ':' || status, ',' order by id), '')) from job_ticks;
