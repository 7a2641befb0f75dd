-- Breakdown step (run.py, after strip_indexes.sql): jobs loses its CHECK
-- constraints and foreign keys, which bench.bare_jobs does not have.
-- PostgreSQL 17 builds every CHECK expression of a table again in each
-- statement that writes to it, whichever columns the statement sets.
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT conname
        FROM pg_constraint
        WHERE conrelid = 'public.jobs'::regclass AND contype IN ('c', 'f')
    LOOP
        EXECUTE format(
            'ALTER TABLE public.jobs DROP CONSTRAINT %I', found.conname
        );
    END LOOP;
END;
$$;
