-- run_steps: every step of every stored run.
SELECT
    s.run_id,
    s.step_index,
    r.script_id,
    s.step_name,
    s.status,
    s.duration,
    s.error
FROM ref_steps AS s
JOIN ref_runs AS r ON r.run_id = s.run_id
