package sqlfiles

import (
	"os"

	"fmt"
	"github.com/scriptstats/scriptstats/sql/internal/statements"
	"reflect"
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	got := SplitStatements("-- header\nCREATE TABLE a (x Int8);\n\n-- two\nCREATE VIEW b AS\nSELECT 1;\nSELECT 2")
	want := []string{"CREATE TABLE a (x Int8)", "CREATE VIEW b AS\nSELECT 1", "SELECT 2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMigrationsAreOrderedAndIdempotent(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].Version != 1 {
		t.Fatalf("want migrations from version 1, got %+v", ms)
	}
	for _, m := range ms {
		for _, s := range m.Statements {
			u := strings.ToUpper(s)
			// A data migration runs only until its migration is recorded.
			once := strings.HasPrefix(u, "INSERT INTO ") &&
				strings.Contains(u, fmt.Sprintf("(SELECT COUNT() FROM SCHEMA_MIGRATIONS WHERE VERSION = %d) = 0", m.Version))
			// Setting a table setting to the same value again changes nothing.
			setting := strings.HasPrefix(u, "ALTER TABLE ") && strings.Contains(u, " MODIFY SETTING ")
			if !once && !setting && !strings.Contains(u, "IF NOT EXISTS") && !strings.Contains(u, "OR REPLACE") && !strings.Contains(u, "IF EXISTS") {
				t.Errorf("%s: statement is not idempotent: %.60s", m.Name, s)
			}
		}
	}
}

// statements.go is what the generator makes of the .sql files now.
func TestStatementsUpToDate(t *testing.T) {
	want, err := statements.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("statements.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("sql/statements.go is out of date: run go generate ./sql")
	}
}
