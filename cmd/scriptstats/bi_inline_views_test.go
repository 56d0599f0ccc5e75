package main

import (
	"context"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// The analysts' profile must not set analyzer_inline_views. It would make
// a dashboard question over a view a fifth to a quarter faster (ClickHouse
// plans it as one query instead of planning the view as a query of its own;
// docs/performance.md, "Eighth round: the trend"), but on ClickHouse
// 26.7.2.1 an inlined view's own grant is not checked: a user granted no
// SELECT on a SQL SECURITY DEFINER view reads it, in any database — the
// analyst read the private view script_names in TestBIClientsAsAnalyst
// when the profile had it. The test checks the analyst's session and
// probes the engine with a user that may change the setting (the loader):
// it logs whether the hole is still there, for whoever reconsiders.
func TestAnalystProfileDoesNotInlineViews(t *testing.T) {
	t.Parallel()
	chs := teststack.PrivateClickHouse(t) // its users: deploy/local/clickhouse-users.xml
	ctx := context.Background()
	admin := openClickHouse(t, chs.AdminDSN())
	for _, q := range []string{
		"CREATE DATABASE scriptstats",
		"CREATE DATABASE other_app",
		"CREATE TABLE other_app.secrets (k UInt8, s String) ENGINE = MergeTree ORDER BY k",
		"INSERT INTO other_app.secrets VALUES (1, 'not for analysts')",
		"CREATE VIEW other_app.secrets_view SQL SECURITY DEFINER AS SELECT * FROM other_app.secrets",
	} {
		if err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	analyst := openClickHouse(t, chs.DSN(analystUser, analystPassword, "scriptstats"))
	var inline uint64
	if err := analyst.QueryRow(ctx, "SELECT toUInt64(getSetting('analyzer_inline_views'))").Scan(&inline); err != nil {
		t.Fatal(err)
	}
	if inline != 0 {
		t.Errorf("the analysts' profile sets analyzer_inline_views = %d: with it the analyst reads SQL SECURITY DEFINER views it has no grant on", inline)
	}
	var s string
	if err := analyst.QueryRow(ctx, "SELECT s FROM other_app.secrets_view").Scan(&s); chCode(err) != 497 {
		t.Errorf("the analyst reads a view it has no grant on: %q, %v; want ACCESS_DENIED (497)", s, err)
	}

	loader := openClickHouse(t, chs.DSN(loaderUser, loaderPassword, "scriptstats"))
	if err := loader.QueryRow(ctx, "SELECT s FROM other_app.secrets_view SETTINGS analyzer_inline_views = 0").Scan(&s); chCode(err) != 497 {
		t.Fatalf("the loader reads another database's view: %q, %v; want ACCESS_DENIED (497)", s, err)
	}
	err := loader.QueryRow(ctx, "SELECT s FROM other_app.secrets_view SETTINGS analyzer_inline_views = 1").Scan(&s)
	if chCode(err) == 497 {
		t.Logf("this engine checks an inlined view's grant: analyzer_inline_views could be reconsidered for the analysts (docs/performance.md)")
	} else {
		t.Logf("this engine still skips an inlined view's grant (read %q, %v): keep analyzer_inline_views out of the analysts' profile", s, err)
	}
}
