-- One-dimension rollup rows summed over every team (issue 6): the dims '' (totals), 'model',
-- 'instance', 'provider' and 'deployment' again as 'all', 'all:model', ... with the nil uuid for
-- a team. migrations/postgres/0009_all_teams_dims.sql is the same change (with a partition per
-- new dim there); change both together. Why: see that file.
--
-- The indexes of one team's rows and of a few keys or users: Postgres has them per partition,
-- here `dim` leads them.

CREATE INDEX spend_daily_dims_by_team ON spend_daily_dims (dim, team_id, day);
CREATE INDEX spend_daily_dims_by_key ON spend_daily_dims (dim, key_id, day);
CREATE INDEX spend_daily_dims_by_user ON spend_daily_dims (dim, user_id, day);
CREATE INDEX spend_hourly_dims_by_team ON spend_hourly_dims (dim, team_id, hour);
CREATE INDEX spend_hourly_dims_by_key ON spend_hourly_dims (dim, key_id, hour);
CREATE INDEX spend_hourly_dims_by_user ON spend_hourly_dims (dim, user_id, hour);

INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, CASE WHEN dim = '' THEN 'all' ELSE 'all:' || dim END, key_id, '00000000-0000-0000-0000-000000000000', user_id, model, instance, provider, deployment_id, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily_dims
WHERE dim IN ('', 'model', 'instance', 'provider', 'deployment')
GROUP BY day, dim, key_id, user_id, model, instance, provider, deployment_id;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, CASE WHEN dim = '' THEN 'all' ELSE 'all:' || dim END, key_id, '00000000-0000-0000-0000-000000000000', user_id, model, instance, provider, deployment_id, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly_dims
WHERE dim IN ('', 'model', 'instance', 'provider', 'deployment')
GROUP BY hour, dim, key_id, user_id, model, instance, provider, deployment_id;
