-- A user's latest model versions, not deleted.
-- Issued by: the model library page of the web app and the FreeCAD add-on's
-- "Open from cloud" dialog: the newest version of each of the user's models
-- (a version that no other version has as parent), newest first.
-- Role: cadcam_app
-- Acting user: user_id
-- Index: idx_models_user_id, uq_models_parent_model_id_user_id_parent_version
-- pgbench: \set user_id random(1, :users)
SELECT
    m.id,
    m.name,
    m.type,
    m.file_format,
    m.version,
    m.thumbnail_key,
    m.updated_at
FROM models AS m
WHERE
    m.user_id = :user_id
    AND m.deleted_at IS NULL
    AND NOT EXISTS (
        SELECT 1
        FROM models AS n
        WHERE n.parent_model_id = m.id
    )
ORDER BY m.updated_at DESC
LIMIT 50;
