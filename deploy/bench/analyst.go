package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// The dashboards connect to ClickHouse as the analysts' user, whose
// settings profile scriptstats_bi (deploy/local/clickhouse-users.xml, the
// same as deploy/clickhouse/users.sql's) sets how the server plans their
// questions: analyzer_inline_views = 1 plans a question over a view as one
// query (docs/performance.md, "Eighth round: the trend"). The benchmark
// connects as the stack's administrator, so it asks its ClickHouse
// questions with the profile's settings — those a session of the profile
// has — unless -analyst-settings=false (the server's defaults).
// readonly and the constraints are left out: they refuse, they do not
// change how a question is answered.

const analystProfile = "scriptstats_bi"

// analystSettings reads the settings of the analysts' profile from the
// local users file under root.
func analystSettings(root string) (clickhouse.Settings, error) {
	path := filepath.Join(root, "deploy", "local", "clickhouse-users.xml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the analysts' profile: %w", err)
	}
	type element struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	}
	var raw struct {
		Profiles struct {
			List []struct {
				XMLName  xml.Name
				Elements []element `xml:",any"`
			} `xml:",any"`
		} `xml:"profiles"`
	}
	if err := xml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, p := range raw.Profiles.List {
		if p.XMLName.Local != analystProfile {
			continue
		}
		s := clickhouse.Settings{}
		for _, e := range p.Elements {
			if name := e.XMLName.Local; name != "constraints" && name != "readonly" {
				s[name] = strings.TrimSpace(e.Text)
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("%s: no profile %s", path, analystProfile)
}

// settingsList is s as sorted name=value items, for the results.
func settingsList(s clickhouse.Settings) []string {
	var out []string
	for k, v := range s {
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(out)
	return out
}
