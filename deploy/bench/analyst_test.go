package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The questions are asked with what the local users file gives the
// analysts' profile, less readonly and the constraints.
func TestAnalystSettingsAreTheProfiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "deploy", "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	users := `<?xml version="1.0"?>
<clickhouse>
    <profiles>
        <default/>
        <other><analyzer_inline_views>0</analyzer_inline_views></other>
        <scriptstats_bi>
            <readonly>1</readonly>
            <max_result_rows> 1048576 </max_result_rows>
            <!-- a comment -->
            <analyzer_inline_views>1</analyzer_inline_views>
            <constraints><max_result_rows><min>1</min><changeable_in_readonly/></max_result_rows></constraints>
        </scriptstats_bi>
    </profiles>
</clickhouse>`
	if err := os.WriteFile(filepath.Join(dir, "deploy", "local", "clickhouse-users.xml"), []byte(users), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := analystSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(settingsList(s), " "), "analyzer_inline_views=1 max_result_rows=1048576"; got != want {
		t.Errorf("settings %q, want %q", got, want)
	}

	// The repository's own file: the profile plans a view inlined.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	s, err = analystSettings(root)
	if err != nil {
		t.Fatal(err)
	}
	if s["analyzer_inline_views"] != "1" || s["readonly"] != nil {
		t.Errorf("the repository's analysts' profile gives %v", settingsList(s))
	}

	if err := os.WriteFile(filepath.Join(dir, "deploy", "local", "clickhouse-users.xml"), []byte("<clickhouse><profiles><default/></profiles></clickhouse>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := analystSettings(dir); err == nil || !strings.Contains(err.Error(), "no profile scriptstats_bi") {
		t.Errorf("a users file without the profile: %v", err)
	}
}
