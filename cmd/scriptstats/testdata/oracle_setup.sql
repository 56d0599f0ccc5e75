-- The end-to-end oracle: an independent recomputation of every public view
-- (CONTRACT.md sections 2 and 3, and the choices of docs/design.md) in plain
-- PostgreSQL SQL, straight from task_log and scripts. It shares no code with
-- the Go job (transform, load, sql/). The test runs it inside a transaction
-- it rolls back; the temporary objects die with it.
--
-- Settings read: scriptstats.tz (IANA zone), scriptstats.error_bytes and
-- scriptstats.name_bytes (the job's --error-bytes and its name limit).
--
-- The source database is UTF8 here, so texts are valid UTF-8 with no NUL:
-- the replacement of invalid bytes (design.md) never applies, only the cut.
-- Sources with invalid bytes (SQL_ASCII) are checked by hand-computed values
-- in TestBadInputInvalidUTF8 instead.

-- ref_prefix: the longest prefix of s of at most budget bytes that ends on a
-- character boundary (a cut never splits a UTF-8 sequence).
CREATE FUNCTION pg_temp.ref_prefix(s text, budget int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_from(substring(x.b FROM 1 FOR c.cut), 'UTF8')
    FROM (SELECT convert_to(s, 'UTF8') AS b) AS x
    CROSS JOIN LATERAL (
        SELECT max(j) AS cut
        FROM generate_series(greatest(budget - 3, 0), budget) AS j
        WHERE CASE WHEN j = 0 OR j >= length(x.b) THEN true
                   ELSE (get_byte(x.b, j) & 192) <> 128 END
    ) AS c
$$;

-- ref_cut: design.md "Error texts": a text longer than lim bytes is cut to
-- lim bytes in all, ending with the marker "…[cut, N bytes in all]" (N: the
-- source's byte length); when lim cannot hold that marker, "…"; when it
-- cannot hold that either, nothing. lim <= 0: no limit.
CREATE FUNCTION pg_temp.ref_cut(s text, lim int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN s IS NULL THEN NULL
        WHEN lim <= 0 OR octet_length(s) <= lim THEN s
        ELSE pg_temp.ref_prefix(s, lim - octet_length(m.marker)) || m.marker
    END
    FROM (
        SELECT CASE
            WHEN octet_length('…[cut, ' || octet_length(s) || ' bytes in all]') <= lim
                THEN '…[cut, ' || octet_length(s) || ' bytes in all]'
            WHEN lim >= octet_length('…') THEN '…'
            ELSE ''
        END AS marker
    ) AS m
$$;

-- ref_stored: a timestamp the job stores, else NULL (design.md: stored as
-- NULL and counted): what ClickHouse's DateTime64(6) holds from 1900 and
-- the ClickHouse Go driver carries (int64 nanoseconds since 1970, up to
-- 2262-04-11 23:47:16.854775807).
CREATE FUNCTION pg_temp.ref_stored(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t BETWEEN '1900-01-01 00:00:00+00' AND '2262-04-11 23:47:16.854775+00' THEN t END
$$;

-- ref_wilson: the Wilson interval of k out of n, z = 1.96 (contract section
-- 2b), clamped to [0, 1]; high when upper, else low. NULL when n = 0. At
-- k = 0 the low bound is exactly 0 and at k = n the high bound exactly 1:
-- centre and half-width are then equal in exact arithmetic (floating point
-- leaves ~1e-17 either way).
CREATE FUNCTION pg_temp.ref_wilson(k bigint, n bigint, upper boolean) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n = 0 THEN NULL
                WHEN upper AND k = n THEN 1::float8
                WHEN upper THEN least(1::float8, w.centre + w.half)
                WHEN k = 0 THEN 0::float8
                ELSE greatest(0::float8, w.centre - w.half) END
    FROM (
        SELECT (p + z * z / (2 * nn)) / (1 + z * z / nn) AS centre,
               z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / (1 + z * z / nn) AS half
        FROM (SELECT k::float8 / nullif(n, 0) AS p, n::float8 AS nn, 1.96::float8 AS z) AS a
    ) AS w
$$;

-- Every run the job stores: all of task_log but the runs whose day is
-- outside 1900-01-01 .. 2299-12-31 or ±infinity (design.md: rejected and
-- counted, in no view).
CREATE TEMP TABLE ref_runs AS
SELECT
    t.id AS run_id,
    t.script_id,
    coalesce(pg_temp.ref_cut(s.name, current_setting('scriptstats.name_bytes')::int),
             '(unknown script ' || t.script_id || ')') AS script_name,
    x.day,
    pg_temp.ref_cut(t.status, current_setting('scriptstats.name_bytes')::int) AS status,
    t.status NOT IN ('pending', 'queued', 'running') AS counted,
    pg_temp.ref_stored(t.started_at) AS started_at,
    pg_temp.ref_stored(t.finished_at) AS finished_at,
    -- The contract's duration: NULL when invalid; -0 is 0.
    CASE WHEN d.d IS NULL OR d.d = 'NaN'::float8 OR d.d IN ('Infinity', '-Infinity') OR d.d < 0 THEN NULL
         WHEN d.d = 0 THEN 0::float8
         ELSE d.d END AS duration,
    t.failed_step_index,
    pg_temp.ref_cut(t.failed_step_name, current_setting('scriptstats.name_bytes')::int) AS failed_step_name,
    pg_temp.ref_cut(t.error_message, current_setting('scriptstats.error_bytes')::int) AS error_message,
    coalesce(t.started_at, t.created_at) AS ordered_at,
    -- The contract's order of failures, on the source values (±infinity
    -- included); step_daily shows the greatest, NULL when DateTime64 cannot
    -- hold it (design.md).
    coalesce(t.finished_at, t.started_at, t.created_at) AS failure_at,
    t.steps::jsonb AS steps
FROM task_log AS t
LEFT JOIN scripts AS s ON s.id = t.script_id
CROSS JOIN LATERAL (
    SELECT (coalesce(t.started_at, t.created_at) AT TIME ZONE current_setting('scriptstats.tz'))::date AS day
) AS x
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN t.duration IS NOT NULL THEN t.duration
        WHEN t.started_at IS NOT NULL AND t.finished_at IS NOT NULL
            THEN extract(epoch FROM (t.finished_at - t.started_at))::float8
    END AS d
) AS d
WHERE x.day BETWEEN '1900-01-01' AND '2299-12-31';

-- The steps of every stored run (contract section 2, "Steps of a run"): the
-- valid elements of steps when it is a non-empty JSON array, in array order,
-- duplicate indexes kept (design.md); otherwise the single failed step of
-- failed_step_index. Every guard is a CASE: PostgreSQL does not promise to
-- evaluate AND operands in order, and casts of non-numbers would fail.
CREATE TEMP TABLE ref_steps AS
WITH arrays AS (
    SELECT r.*,
           CASE WHEN jsonb_typeof(r.steps) = 'array' THEN r.steps ELSE '[]'::jsonb END AS arr
    FROM ref_runs AS r
),
elements AS (
    SELECT
        a.run_id, a.error_message, e.elem, e.ord,
        CASE WHEN jsonb_typeof(e.elem) = 'object' AND jsonb_typeof(e.elem -> 'index') = 'number'
             THEN (e.elem ->> 'index')::numeric END AS idx,
        CASE WHEN jsonb_typeof(e.elem) = 'object' AND jsonb_typeof(e.elem -> 'status') = 'string'
             THEN e.elem ->> 'status' END AS status,
        CASE WHEN jsonb_typeof(e.elem) = 'object' AND jsonb_typeof(e.elem -> 'duration') = 'number'
             THEN (e.elem ->> 'duration')::numeric END AS dur
    FROM arrays AS a
    CROSS JOIN LATERAL jsonb_array_elements(a.arr) WITH ORDINALITY AS e(elem, ord)
),
valid AS (
    -- An integer index: integral value in int32 range ("2.0" yes, "2.5" no).
    SELECT *
    FROM elements
    WHERE status IN ('success', 'failed', 'skipped')
      AND idx IS NOT NULL
      AND idx = trunc(idx)
      AND idx BETWEEN -2147483648 AND 2147483647
)
SELECT
    v.run_id,
    v.idx::int AS step_index,
    v.ord,
    -- A name or error that is no JSON string is kept as its JSON text
    -- (->> prints it so); JSON null is NULL.
    pg_temp.ref_cut(v.elem ->> 'name', current_setting('scriptstats.name_bytes')::int) AS step_name,
    v.status,
    -- A JSON number as the nearest float8; beyond float8's range ±Infinity,
    -- below its smallest subnormal 0.
    CASE WHEN v.dur IS NULL THEN NULL
         WHEN v.dur > 1.7976931348623157e308 THEN 'Infinity'::float8
         WHEN v.dur < -1.7976931348623157e308 THEN '-Infinity'::float8
         WHEN abs(v.dur) < 2.4703282292062328e-324 THEN 0::float8
         ELSE (v.elem ->> 'duration')::float8 END AS duration,
    -- A failed step's error is its own, else the run's error_message.
    coalesce(pg_temp.ref_cut(v.elem ->> 'error', current_setting('scriptstats.error_bytes')::int),
             CASE WHEN v.status = 'failed' THEN v.error_message END) AS error
FROM valid AS v
UNION ALL
SELECT
    a.run_id, a.failed_step_index, 1, a.failed_step_name, 'failed', NULL::float8, a.error_message
FROM arrays AS a
WHERE jsonb_array_length(a.arr) = 0
  AND a.failed_step_index IS NOT NULL;

CREATE INDEX ON ref_steps (run_id, step_index, ord);
ANALYZE ref_runs;
ANALYZE ref_steps;
