package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// TestOracleAcrossZonesAndSeeds: histories with odd values in zones with
// unusual offsets and transitions (a 45-minute offset, a 12:45 offset, a
// midnight that does not exist, the date line), loaded, changed the ways
// production changes them (deletes included), and backfilled: after each
// step every view equals the independent PostgreSQL recomputation. More
// seeds with SCRIPTSTATS_ORACLE_SEEDS=N.
func TestOracleAcrossZonesAndSeeds(t *testing.T) {
	t.Parallel()
	seeds := 1
	if v := os.Getenv("SCRIPTSTATS_ORACLE_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SCRIPTSTATS_ORACLE_SEEDS=%q: want a positive number", v)
		}
		seeds = n
	}
	zones := []string{"Asia/Kathmandu", "Pacific/Chatham", "America/Santiago", "Pacific/Kiritimati"}
	for i, zone := range zones {
		for s := 0; s < seeds; s++ {
			seed := int64(500 + 17*i + 1000*s)
			t.Run(fmt.Sprintf("%s/seed%d", zone, seed), func(t *testing.T) {
				t.Parallel()
				e := newJobEnv(t, teststack.Postgres(t), teststack.ClickHouse(t))
				e.tz = zone
				opt := smallHistory(seed, 1500)
				opt.Scripts, opt.Days = 12, 20
				// Santiago's clocks jumped at midnight on 2024-09-08.
				opt.End = time.Date(2024, 9, 20, 0, 0, 0, 0, time.UTC)
				e.generate(opt)
				e.migrate()
				e.mustPass("run")
				assertViewsMatchOracle(t, zone+": first load", e.pool, e.ch, e.tz)
				e.mutate(2, 0)
				e.mustPass("run")
				assertViewsMatchOracle(t, zone+": after changes", e.pool, e.ch, e.tz)
				e.mutate(1, 5)
				e.mustPass("run")
				from, to := e.dayRange()
				e.mustPass("backfill", "--from", from, "--to", to)
				e.checkAll(zone + ": after deletes and a backfill")
			})
		}
	}
}
