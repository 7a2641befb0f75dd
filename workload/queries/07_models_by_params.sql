-- Models by parameters: jsonb containment on models.params.
-- Issued by: the parametric part generator before it builds a part from a
-- template: is there already a model from the same template, material and
-- size to reuse? Newest first.
-- A worker sees only the models of active jobs (pol_models_worker_select), and
-- the query says so, so that the plan starts from those few models
-- (idx_jobs_model_id_active) rather than from the parameters: under row-level
-- security @> is not leakproof and may not filter before the policy, so the
-- search read the whole of gin_models_params and checked the policy for each
-- model (760x the superuser's time). Same rows, for the worker.
-- Role: cadcam_worker
-- Index: idx_jobs_model_id_active | idx_jobs_status_created_at, pk_models
-- pgbench: \set template_no random(1, 12)
-- pgbench: \set material_no random(1, 10)
-- pgbench: \set size_no random(0, 39)
SELECT
    m.id,
    m.user_id,
    m.name,
    m.version,
    m.params
FROM models AS m
WHERE
    m.params @> jsonb_build_object(
        'template', (ARRAY[
            'flange_din2576', 'shaft_keyed', 'spur_gear', 'bracket_l', 'enclosure_box',
            'bearing_housing', 'pulley_htd', 'mounting_plate', 'nema17_mount', 'hinge',
            'spacer', 'din_rail_clip'
        ])[:template_no],
        'material', (ARRAY[
            'S235JR', 'C45', 'AlMg3', '6061-T6', '7075-T6', '1.4301', '1.4404', 'POM-C',
            'PA6', 'CuZn39Pb3'
        ])[:material_no],
        'size', 10 + 5 * :size_no
    )
    AND m.deleted_at IS NULL
    -- ANY and ARRAY are keywords here, not function names.
    AND m.id = ANY(ARRAY(  -- noqa: CP03
        SELECT j.model_id
        FROM jobs AS j
        WHERE j.status IN ('pending', 'queued', 'running')
    ))
ORDER BY m.updated_at DESC
LIMIT 50;
