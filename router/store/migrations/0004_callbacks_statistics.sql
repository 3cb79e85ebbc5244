-- The claim query's plan depends on fresh statistics of the queue: analyze it after a
-- few hundred changes rather than after a fifth of the table.
ALTER TABLE callbacks SET (
    autovacuum_analyze_threshold = 200,
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_scale_factor = 0.02
);
