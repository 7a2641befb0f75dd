-- =============================================================================
-- Models of lineages :lo < l <= :hi, owned by users 1 to :users, as of :t0
-- =============================================================================
-- Lineage l has bench.lineage_length(l) versions (1 to 5, 1.9 on average)
-- with ids 5(l - 1) + 1, 5(l - 1) + 2, ...: version v's parent is the id
-- before it, with the same owner, so fk_models_parent_model_id holds by
-- construction. Unused ids are left as gaps. 70% of lineages come from a
-- parametric template (params), 60% of versions have been measured (metrics),
-- 4% are soft-deleted.
INSERT INTO models (
    id, user_id, name, type, file_format, storage_key, sha256, file_size, version,
    parent_model_id, thumbnail_key, params, metrics, created_at, updated_at,
    deleted_at
)
OVERRIDING SYSTEM VALUE
SELECT
    m.id,
    m.user_id,
    m.name,
    m.type,
    m.file_format,
    'tenants/' || m.user_id || '/models/' || m.lineage || '/v' || m.version || '.'
    || CASE m.file_format WHEN 'fcstd' THEN 'FCStd' ELSE m.file_format::text END
        AS storage_key,
    sha256(convert_to('model-file-' || m.id, 'UTF8')) AS sha256,
    -- 20 kB to 3 GB, uniform in log scale (median about 8 MB).
    (20000 * exp(11.9 * bench.frac(m.id, 45)))::bigint AS file_size,
    m.version,
    CASE WHEN m.version > 1 THEN m.id - 1 END AS parent_model_id,
    CASE
        WHEN bench.pick(m.id, 46, 100) < 85
            THEN 'tenants/' || m.user_id || '/thumbnails/' || m.id || '.png'
    END AS thumbnail_key,
    CASE
        WHEN bench.pick(m.lineage, 47, 10) < 7
            THEN jsonb_build_object(
                'template', bench.choose(
                    '{flange_din2576,shaft_keyed,spur_gear,bracket_l,enclosure_box,'
                    'bearing_housing,pulley_htd,mounting_plate,nema17_mount,hinge,spacer,'
                    'din_rail_clip}',
                    m.lineage, 48
                ),
                'material', bench.choose(
                    '{S235JR,C45,AlMg3,6061-T6,7075-T6,1.4301,1.4404,POM-C,PA6,CuZn39Pb3}',
                    m.lineage, 49
                ),
                'units', 'mm',
                'size', 10 + 5 * bench.pick(m.id, 50, 40),
                'thickness_mm', 0.5 * (2 + bench.pick(m.id, 51, 30)),
                'spreadsheet', jsonb_build_object(
                    'Length', 20 + bench.pick(m.id, 52, 480),
                    'Width', 10 + bench.pick(m.id, 53, 240),
                    'HoleCount', bench.pick(m.id, 54, 12)
                )
            )
    END AS params,
    CASE
        WHEN bench.pick(m.id, 55, 10) < 6
            THEN jsonb_build_object(
                'volume_mm3', round((1000 + 2e6 * bench.frac(m.id, 56))::numeric, 1),
                'mass_g', round((10 + 5000 * bench.frac(m.id, 57))::numeric, 1),
                'bbox_mm', jsonb_build_array(
                    10 + bench.pick(m.id, 58, 490), 10 + bench.pick(m.id, 59, 290),
                    2 + bench.pick(m.id, 60, 120)
                ),
                'faces', 6 + bench.pick(m.id, 61, 2000),
                'solids', 1 + bench.pick(m.id, 62, 3),
                'freecad_version', bench.choose('{0.21.2,1.0.0,1.0.1,1.0.2}', m.id, 63)
            )
    END AS metrics,
    m.created_at,
    m.created_at + interval '3 minutes' AS updated_at,
    CASE
        WHEN bench.pick(m.id, 64, 100) < 4
            THEN least(:t0, m.created_at + interval '2 days')
    END AS deleted_at
FROM (
    SELECT
        r.lineage,
        5 * (r.lineage - 1) + v.version AS id,
        v.version,
        r.user_id,
        r.name,
        r.type,
        r.file_format,
        -- Versions follow the root at even steps up to :t0.
        r.root_created_at + (:t0 - r.root_created_at) * (v.version - 1) / 5.0 AS created_at
    FROM (
        SELECT
            g.l AS lineage,
            o.user_id,
            bench.choose(
                '{Flanş,Mil,Dişli,Braket,Kapak,Gövde,Kalıp Çekirdeği,Rulman Yatağı,'
                'Konveyör Ayağı,Pompa Gövdesi,Bağlantı Plakası,Menteşe,Kasnak,Burç}',
                g.l, 65
            ) || ' ' || bench.choose('{FL,ML,DS,BR,KP,GV,KC,RY}', g.l, 66) || '-'
            || (1000 + bench.pick(g.l, 67, 9000)) AS name,
            t.type,
            CASE
                WHEN t.type = 'mesh' THEN bench.choose('{stl,stl,obj,3mf}', g.l, 68)
                WHEN t.type = 'drawing' THEN 'dxf'
                WHEN bench.pick(g.l, 68, 100) < 75 THEN 'fcstd'
                ELSE bench.choose('{step,step,step,iges,brep}', g.l, 69)
            END::model_file_format AS file_format,
            bench.istanbul_working_hour(
                o.created_at + (:t0 - o.created_at) * 0.9 * bench.frac(g.l, 70), g.l
            ) AS root_created_at,
            bench.lineage_length(g.l) AS length
        FROM generate_series(:lo + 1, :hi) AS g (l)
        CROSS JOIN
            LATERAL (
                SELECT
                    1 + bench.pick(g.l, 41, :users) AS user_id,
                    bench.user_created_at(1 + bench.pick(g.l, 41, :users), :total_users, :t0)
                        AS created_at
            ) AS o
        CROSS JOIN LATERAL (
            SELECT CASE
                WHEN bench.pick(g.l, 44, 100) < 60 THEN 'part'
                WHEN bench.pick(g.l, 44, 100) < 75 THEN 'assembly'
                WHEN bench.pick(g.l, 44, 100) < 85 THEN 'sketch'
                WHEN bench.pick(g.l, 44, 100) < 95 THEN 'drawing'
                ELSE 'mesh'
            END::model_type AS type
        ) AS t
    ) AS r
    CROSS JOIN LATERAL generate_series(1, r.length) AS v (version)
) AS m;
