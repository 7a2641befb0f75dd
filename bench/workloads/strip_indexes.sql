-- Breakdown step (run.py, the last measurement of a run, on scratch data):
-- jobs keeps only the indexes bench.bare_jobs has, its primary key and the
-- claim index. An index that backs a constraint goes with its constraint.
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT
            i.indexrelid::regclass AS index_name,
            c.conname
        FROM pg_index AS i
        LEFT JOIN pg_constraint AS c
            ON i.indexrelid = c.conindid AND i.indrelid = c.conrelid
        WHERE
            i.indrelid = 'public.jobs'::regclass
            AND i.indexrelid NOT IN (
                'public.pk_jobs'::regclass,
                'public.idx_jobs_priority_created_at_queued'::regclass
            )
    LOOP
        IF found.conname IS NULL THEN
            EXECUTE format('DROP INDEX %s', found.index_name);
        ELSE
            EXECUTE format(
                'ALTER TABLE public.jobs DROP CONSTRAINT %I', found.conname
            );
        END IF;
    END LOOP;
END;
$$;
