-- Detection (issue 10): the days whose success rate fell below the script's
-- baseline, every script, in the 90-day window (success_rate_drops).
SELECT script_id, script_name, day, total, success_rate, success_rate_low, success_rate_high,
    baseline_runs, baseline_rate, baseline_low, baseline_high
FROM success_rate_drops
WHERE day BETWEEN {from:Date32} AND {to:Date32}
ORDER BY day DESC, script_id
