-- Rollups by one dimension at a time (issue 6): what the pages ask of all teams at once, summed
-- from a few thousand rows a day instead of the full rollups' one row per few requests.
-- migrations/sqlite/0005_rollup_dims.sql is the same change; change both together.
--
-- `spend_daily` and `spend_hourly` keep every combination of key, team, user, model, instance,
-- provider and deployment: they answer any filter, but at scale a day holds tens of thousands of
-- rows (bench/RESULTS.md). These tables hold, per bucket and team, one row per value of ONE
-- dimension (`dim`): '' is the team's totals, 'key' the team's keys, then 'user', 'model',
-- 'instance', 'provider', 'deployment'; the other dimension columns are '' or the nil uuid. The
-- writer adds every request to each `dim` in the same transaction as the full rollups. A
-- question whose grouping and filters name at most one dimension besides the team reads them.
--
-- `dim` leads the primary key, then the bucket and the team, so a question is a range scan of
-- one dimension's rows, narrowed by team when a team asks.

CREATE TABLE spend_daily_dims (
    day               bigint NOT NULL,
    dim               text NOT NULL,
    key_id            uuid NOT NULL,
    team_id           uuid NOT NULL,
    user_id           uuid NOT NULL,
    model             text NOT NULL,
    instance          text NOT NULL,
    provider          text NOT NULL,
    deployment_id     uuid NOT NULL,
    requests          bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost              bigint NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    lat_0             bigint NOT NULL DEFAULT 0,
    lat_1             bigint NOT NULL DEFAULT 0,
    lat_2             bigint NOT NULL DEFAULT 0,
    lat_3             bigint NOT NULL DEFAULT 0,
    lat_4             bigint NOT NULL DEFAULT 0,
    lat_5             bigint NOT NULL DEFAULT 0,
    lat_6             bigint NOT NULL DEFAULT 0,
    lat_7             bigint NOT NULL DEFAULT 0,
    lat_8             bigint NOT NULL DEFAULT 0,
    lat_9             bigint NOT NULL DEFAULT 0,
    lat_10            bigint NOT NULL DEFAULT 0,
    lat_11            bigint NOT NULL DEFAULT 0,
    CONSTRAINT spend_daily_dims_pkey
        PRIMARY KEY (dim, day, team_id, key_id, user_id, model, instance, provider, deployment_id)
);

CREATE TABLE spend_hourly_dims (
    hour              bigint NOT NULL,
    dim               text NOT NULL,
    key_id            uuid NOT NULL,
    team_id           uuid NOT NULL,
    user_id           uuid NOT NULL,
    model             text NOT NULL,
    instance          text NOT NULL,
    provider          text NOT NULL,
    deployment_id     uuid NOT NULL,
    requests          bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost              bigint NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    lat_0             bigint NOT NULL DEFAULT 0,
    lat_1             bigint NOT NULL DEFAULT 0,
    lat_2             bigint NOT NULL DEFAULT 0,
    lat_3             bigint NOT NULL DEFAULT 0,
    lat_4             bigint NOT NULL DEFAULT 0,
    lat_5             bigint NOT NULL DEFAULT 0,
    lat_6             bigint NOT NULL DEFAULT 0,
    lat_7             bigint NOT NULL DEFAULT 0,
    lat_8             bigint NOT NULL DEFAULT 0,
    lat_9             bigint NOT NULL DEFAULT 0,
    lat_10            bigint NOT NULL DEFAULT 0,
    lat_11            bigint NOT NULL DEFAULT 0,
    CONSTRAINT spend_hourly_dims_pkey
        PRIMARY KEY (dim, hour, team_id, key_id, user_id, model, instance, provider, deployment_id)
);

-- fill:begin (bench/analytics_gen.sh runs the statements between these markers)
INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, '', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily
GROUP BY day, team_id;

INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, 'key', key_id, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily
GROUP BY day, team_id, key_id;

INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, 'user', '00000000-0000-0000-0000-000000000000'::uuid, team_id, user_id, '', '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily
GROUP BY day, team_id, user_id;

INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, 'model', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, model, '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily
GROUP BY day, team_id, model;

INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, 'instance', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', instance, '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily
GROUP BY day, team_id, instance;

INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, 'provider', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', provider, '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily
GROUP BY day, team_id, provider;

INSERT INTO spend_daily_dims (day, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT day, 'deployment', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', '', deployment_id, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_daily
GROUP BY day, team_id, deployment_id;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, '', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly
GROUP BY hour, team_id;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, 'key', key_id, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly
GROUP BY hour, team_id, key_id;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, 'user', '00000000-0000-0000-0000-000000000000'::uuid, team_id, user_id, '', '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly
GROUP BY hour, team_id, user_id;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, 'model', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, model, '', '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly
GROUP BY hour, team_id, model;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, 'instance', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', instance, '', '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly
GROUP BY hour, team_id, instance;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, 'provider', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', provider, '00000000-0000-0000-0000-000000000000'::uuid, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly
GROUP BY hour, team_id, provider;

INSERT INTO spend_hourly_dims (hour, dim, key_id, team_id, user_id, model, instance, provider,
    deployment_id, requests, prompt_tokens, completion_tokens, cost, errors, lat_0, lat_1, lat_2, lat_3, lat_4, lat_5, lat_6, lat_7, lat_8, lat_9, lat_10, lat_11)
SELECT hour, 'deployment', '00000000-0000-0000-0000-000000000000'::uuid, team_id, '00000000-0000-0000-0000-000000000000'::uuid, '', '', '', deployment_id, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost), SUM(errors), SUM(lat_0), SUM(lat_1), SUM(lat_2), SUM(lat_3), SUM(lat_4), SUM(lat_5), SUM(lat_6), SUM(lat_7), SUM(lat_8), SUM(lat_9), SUM(lat_10), SUM(lat_11)
FROM spend_hourly
GROUP BY hour, team_id, deployment_id;
-- fill:end
