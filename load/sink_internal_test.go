package load

import (
	"context"
	"testing"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// migratedSink is a sink on a new, migrated test database, closed at the
// end of the test (the internal tests' migrated, load_test.go has its own).
func migratedSink(t *testing.T) *Sink {
	t.Helper()
	dsn := teststack.ClickHouse(t)
	if _, err := Migrate(context.Background(), dsn); err != nil {
		t.Fatal(err)
	}
	sink, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return sink
}
