-- Runs written at or after a lower bound (see schedules/watermark.go).
WHERE updated_at >= $2
