-- Models by parameters: jsonb containment on models.params.
-- Issued by: the parametric part generator before it builds a part from a
-- template: is there already a model from the same template, material and
-- size to reuse? Newest first.
-- Role: cadcam_worker
-- Index: gin_models_params
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
ORDER BY m.updated_at DESC
LIMIT 50;
