-- =============================================================================
-- Jobs :lo < id <= :hi, on lineages 1 to :lineages, as of :t0
-- =============================================================================
-- Ids up to :live are the live queue, generated first and newest:
-- :running running jobs (started in the last two hours), then :queued queued
-- and the rest pending (submitted in the last half hour). Every later id is
-- finished history of the last two years: 88% succeeded, 7% failed, 3%
-- cancelled, 2% timed out. 85% of jobs work on a version of a model and
-- belong to its owner; the rest generate or import a model from scratch.
INSERT INTO jobs (
    id, user_id, model_id, type, status, priority, input_params, metrics, result,
    idempotency_key, celery_task_id, progress, retry_count, max_retries,
    timeout_seconds, error_message, created_at, updated_at, started_at,
    finished_at
)
OVERRIDING SYSTEM VALUE
SELECT
    j.id,
    j.user_id,
    j.model_id,
    j.type,
    j.status,
    CASE
        WHEN bench.pick(j.id, 81, 100) < 60 THEN 5
        WHEN bench.pick(j.id, 81, 100) < 75 THEN 3
        WHEN bench.pick(j.id, 81, 100) < 90 THEN 7
        WHEN bench.pick(j.id, 81, 100) < 95 THEN 1
        ELSE 9
    END AS priority,
    CASE
        WHEN bench.pick(j.id, 82, 10) < 8
            THEN CASE j.type
                WHEN 'cam_toolpath'
                    THEN
                        jsonb_build_object(
                            'operation', bench.choose(
                                '{adaptive_clearing,pocket,profile,drilling,face,engrave}', j.id, 83
                            ),
                            'tool', jsonb_build_object(
                                'number', 1 + bench.pick(j.id, 84, 24),
                                'kind', bench.choose('{endmill,ballmill,drill,chamfer}', j.id, 85),
                                'diameter_mm',
                                (ARRAY[2, 3, 4, 6, 8, 10, 12, 16])[1 + bench.pick(j.id, 86, 8)]
                            ),
                            'spindle_rpm', 6000 + 1000 * bench.pick(j.id, 87, 19),
                            'feed_mm_min', 300 + 100 * bench.pick(j.id, 88, 28),
                            'stepdown_mm', 0.25 * (1 + bench.pick(j.id, 89, 12)),
                            'coolant', bench.choose('{flood,mist,air,none}', j.id, 90)
                        )
                WHEN 'gcode_post'
                    THEN
                        jsonb_build_object(
                            'post_processor', j.post_processor,
                            'units', 'G21',
                            'output_suffix', '.nc',
                            'line_numbers', bench.pick(j.id, 91, 2) = 0
                        )
                WHEN 'thumbnail' THEN '{"width": 512, "height": 512, "view": "isometric"}'::jsonb
                ELSE jsonb_build_object(
                    'source', bench.choose('{upload,url,template}', j.id, 92),
                    'tessellation_mm', 0.01 * (1 + bench.pick(j.id, 93, 10))
                )
            END
    END AS input_params,
    -- Workers report where and how the job ran once it started.
    CASE
        WHEN j.started_at IS NOT NULL AND bench.pick(j.id, 94, 10) < 9
            THEN jsonb_strip_nulls(jsonb_build_object(
                'machine', 'tezgah-' || lpad((1 + bench.pick(j.id, 95, 500))::text, 3, '0'),
                'worker', 'celery@worker-' || (1 + bench.pick(j.id, 96, 40)),
                'post_processor', CASE
                    WHEN j.type IN ('cam_toolpath', 'gcode_post')
                        THEN j.post_processor
                END,
                'duration_s',
                round(extract(EPOCH FROM coalesce(j.finished_at, :t0) - j.started_at)),
                'peak_memory_mb', 200 + bench.pick(j.id, 97, 3800),
                'toolpath_length_mm', CASE
                    WHEN j.type = 'cam_toolpath'
                        THEN 1000 + bench.pick(j.id, 98, 500000)
                END
            ))
    END AS metrics,
    CASE
        WHEN j.status = 'succeeded'
            THEN jsonb_build_object(
                'output_key', 'tenants/' || j.user_id || '/outputs/' || j.id
                || CASE j.type
                    WHEN 'gcode_post' THEN '.nc' WHEN 'thumbnail' THEN '.png'
                    ELSE '.FCStd'
                END,
                'warnings', bench.pick(j.id, 99, 4)
            )
    END AS result,
    CASE WHEN bench.pick(j.id, 100, 10) < 4 THEN 'req-' || md5('idempotency-' || j.id) END
        AS idempotency_key,
    CASE WHEN j.started_at IS NOT NULL THEN md5('celery-' || j.id)::uuid END
        AS celery_task_id,
    CASE
        WHEN j.status = 'succeeded' THEN 100
        WHEN j.started_at IS NULL THEN 0
        ELSE bench.pick(j.id, 101, 100)
    END AS progress,
    CASE WHEN j.status = 'failed' THEN bench.pick(j.id, 102, 4) ELSE 0 END AS retry_count,
    3 AS max_retries,
    CASE j.type WHEN 'simulation' THEN 7200 WHEN 'thumbnail' THEN 300 ELSE 3600 END
        AS timeout_seconds,
    CASE j.status
        WHEN 'failed'
            THEN
                bench.choose(ARRAY[
                    'Path.Area: offset produced an empty wire',
                    'Tool T12 is longer than the holder allows',
                    'Post-processor fanuc: arc in plane G18 is not supported',
                    'Shape is invalid: BRep_API: command not done',
                    'Worker lost: SIGKILL (out of memory)'
                ], j.id, 103)
        WHEN 'timed_out' THEN 'Timed out after ' || 3600 || ' s'
    END AS error_message,
    j.created_at,
    coalesce(j.finished_at, j.started_at, j.created_at) AS updated_at,
    j.started_at,
    j.finished_at
FROM (
    SELECT
        s.*,
        CASE
            WHEN
                s.status <> 'pending' AND s.status <> 'queued'
                AND NOT (s.status = 'cancelled' AND bench.pick(s.id, 104, 2) = 0)
                -- Within ten minutes of submission, and never after :t0.
                THEN
                    s.created_at
                    + least(interval '10 minutes', :t0 - s.created_at) * bench.frac(s.id, 105)
        END AS started_at,
        CASE
            WHEN s.status IN ('succeeded', 'failed', 'cancelled', 'timed_out')
                THEN
                    s.created_at + interval '10 minutes'
                    + interval '50 minutes' * bench.frac(s.id, 106)
        END AS finished_at
    FROM (
        SELECT
            g.id,
            coalesce(m.user_id, 1 + bench.pick(g.id, 107, :users)) AS user_id,
            m.id AS model_id,
            CASE
                WHEN m.id IS NULL
                    THEN bench.choose('{model_generate,model_import}', g.id, 108)
                WHEN bench.pick(g.id, 109, 100) < 35 THEN 'cam_toolpath'
                WHEN bench.pick(g.id, 109, 100) < 60 THEN 'gcode_post'
                WHEN bench.pick(g.id, 109, 100) < 80 THEN 'thumbnail'
                WHEN bench.pick(g.id, 109, 100) < 92 THEN 'simulation'
                ELSE 'export'
            END::job_type AS type,
            CASE
                WHEN g.id <= :running THEN 'running'
                WHEN g.id <= :running + :queued THEN 'queued'
                WHEN g.id <= :live THEN 'pending'
                WHEN bench.pick(g.id, 110, 1000) < 880 THEN 'succeeded'
                WHEN bench.pick(g.id, 110, 1000) < 950 THEN 'failed'
                WHEN bench.pick(g.id, 110, 1000) < 980 THEN 'cancelled'
                ELSE 'timed_out'
            END::job_status AS status,
            CASE
                WHEN g.id <= :running THEN :t0 - interval '2 hours' * bench.frac(g.id, 111)
                WHEN g.id <= :live THEN :t0 - interval '30 minutes' * bench.frac(g.id, 111)
                -- History: at least an hour old, never before the model.
                ELSE
                    greatest(m.created_at, :t0 - interval '730 days')
                    + (:t0 - interval '1 hour' - greatest(m.created_at, :t0 - interval '730 days'))
                    * bench.frac(g.id, 111)
            END AS created_at,
            bench.choose('{linuxcnc,grbl,fanuc,haas,heidenhain,siemens,mach3}', g.id, 112)
                AS post_processor
        FROM generate_series(:lo + 1, :hi) AS g (id)
        -- A version of a lineage: the lineage's first id plus an existing offset.
        LEFT JOIN models AS m
            ON
                bench.pick(g.id, 113, 100) < 85
                AND m.id = 5 * bench.pick(g.id, 114, :lineages)
                + 1
                + bench.pick(g.id, 115, bench.lineage_length(1 + bench.pick(g.id, 114, :lineages)))
    ) AS s
) AS j;
