package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/scriptstats/scriptstats/deploy/teststack"
)

// The analyst's settings profile, as the local users file and the
// production SQL each give it, compared element by element.

// profileElement is one setting of a settings profile: its value and its
// constraint ("" where not given). Writability is "", CONST or
// CHANGEABLE_IN_READONLY.
type profileElement struct {
	Value, Min, Max, Writability string
}

type profileSettings map[string]profileElement

func (p profileSettings) String() string {
	var b strings.Builder
	for _, n := range slices.Sorted(mapKeys(p)) {
		fmt.Fprintf(&b, "  %s %+v\n", n, p[n])
	}
	return b.String()
}

// diff lists the settings in which p and q differ.
func (p profileSettings) diff(q profileSettings, pName, qName string) string {
	var b strings.Builder
	names := slices.Sorted(mapKeys(p))
	for n := range q {
		if _, ok := p[n]; !ok {
			names = append(names, n)
		}
	}
	for _, n := range names {
		a, inP := p[n]
		c, inQ := q[n]
		if inP && inQ && a == c {
			continue
		}
		fmt.Fprintf(&b, "  %s: %s %s, %s %s\n", n, pName, describeElement(a, inP), qName, describeElement(c, inQ))
	}
	return b.String()
}

func describeElement(e profileElement, present bool) string {
	if !present {
		return "(absent)"
	}
	return fmt.Sprintf("%+v", e)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// xmlNode is any element of a ClickHouse XML config.
type xmlNode struct {
	XMLName  xml.Name
	Text     string    `xml:",chardata"`
	Children []xmlNode `xml:",any"`
}

// localBIProfile reads the profile scriptstats_bi of
// deploy/local/clickhouse-users.xml.
func localBIProfile(t *testing.T) profileSettings {
	t.Helper()
	root, err := teststack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "local", "clickhouse-users.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Profiles xmlNode `xml:"profiles"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("clickhouse-users.xml: %v", err)
	}
	for _, p := range doc.Profiles.Children {
		if p.XMLName.Local == "scriptstats_bi" {
			return profileFromXML(t, p)
		}
	}
	t.Fatal("clickhouse-users.xml has no profile scriptstats_bi")
	return nil
}

func profileFromXML(t *testing.T, p xmlNode) profileSettings {
	t.Helper()
	out := profileSettings{}
	for _, c := range p.Children {
		if c.XMLName.Local != "constraints" {
			el := out[c.XMLName.Local]
			el.Value = strings.TrimSpace(c.Text)
			out[c.XMLName.Local] = el
			continue
		}
		for _, k := range c.Children {
			el := out[k.XMLName.Local]
			for _, f := range k.Children {
				switch f.XMLName.Local {
				case "min":
					el.Min = strings.TrimSpace(f.Text)
				case "max":
					el.Max = strings.TrimSpace(f.Text)
				case "changeable_in_readonly":
					el.Writability = "CHANGEABLE_IN_READONLY"
				case "readonly", "const":
					el.Writability = "CONST"
				default:
					t.Errorf("clickhouse-users.xml: constraint %s: unknown <%s>", k.XMLName.Local, f.XMLName.Local)
				}
			}
			out[k.XMLName.Local] = el
		}
	}
	return out
}

var (
	profileStmt    = regexp.MustCompile(`^ALTER SETTINGS PROFILE ` + "`?" + `scriptstats_bi` + "`?" + ` (?:DROP ALL SETTINGS, DROP ALL PROFILES, ADD )?SETTINGS (.+)$`)
	profileElemRe  = regexp.MustCompile(`^(\w+)(?: = ('(?:[^'\\]|\\.)*'|[^ ]+))?(?: MIN ('(?:[^'\\]|\\.)*'|[^ ]+))?(?: MAX ('(?:[^'\\]|\\.)*'|[^ ]+))?(?: (CHANGEABLE_IN_READONLY|CONST|READONLY|WRITABLE))?$`)
	profileSplitRe = regexp.MustCompile(`, (?:[a-z][a-z0-9_]*(?: |$))`)
)

// sqlBIProfile reads the profile scriptstats_bi of the production SQL: the
// ALTER SETTINGS PROFILE statement of stmts, formatted by the server
// (formatQuerySingleLine: its parser, canonical spelling), then split into
// its elements. (The server spells ALTER ... SETTINGS as DROP ALL SETTINGS,
// DROP ALL PROFILES, ADD SETTINGS: the list replaces the old one.)
func sqlBIProfile(t *testing.T, admin driver.Conn, what string, stmts []string) profileSettings {
	t.Helper()
	var stmt string
	for _, s := range stmts {
		if strings.HasPrefix(s, "ALTER SETTINGS PROFILE scriptstats_bi ") {
			if stmt != "" {
				t.Fatalf("%s: two ALTER SETTINGS PROFILE scriptstats_bi", what)
			}
			stmt = s
		}
	}
	if stmt == "" {
		t.Fatalf("%s: no ALTER SETTINGS PROFILE scriptstats_bi", what)
	}
	var formatted string
	if err := admin.QueryRow(context.Background(), "SELECT formatQuerySingleLine(?)", stmt).Scan(&formatted); err != nil {
		t.Fatalf("%s: %s: %v", what, stmt, err)
	}
	m := profileStmt.FindStringSubmatch(formatted)
	if m == nil {
		t.Fatalf("%s: not understood: %s", what, formatted)
	}
	list := m[1]
	// Split at ", name" (values here hold no ", ").
	var parts []string
	for {
		loc := profileSplitRe.FindStringIndex(list)
		if loc == nil {
			parts = append(parts, list)
			break
		}
		parts = append(parts, list[:loc[0]])
		list = list[loc[0]+2:]
	}
	out := profileSettings{}
	for _, p := range parts {
		em := profileElemRe.FindStringSubmatch(p)
		if em == nil {
			t.Fatalf("%s: profile element %q not understood (in %s)", what, p, formatted)
		}
		w := em[5]
		if w == "READONLY" {
			w = "CONST"
		}
		if w == "WRITABLE" {
			w = ""
		}
		if _, dup := out[em[1]]; dup {
			t.Errorf("%s: %s given twice", what, em[1])
		}
		out[em[1]] = profileElement{Value: strings.Trim(em[2], "'"), Min: strings.Trim(em[3], "'"), Max: strings.Trim(em[4], "'"), Writability: w}
	}
	return out
}

// checkBIProfilesMatch: the production SQL's profile is the local users
// file's, setting by setting, and so is the one docs/metabase.md tells
// administrators to create; and the analyst is read-only in it.
func checkBIProfilesMatch(t *testing.T, admin driver.Conn, prodStmts []string) {
	t.Helper()
	local := localBIProfile(t)
	prod := sqlBIProfile(t, admin, "users.sql", prodStmts)
	same := true
	if d := local.diff(prod, "clickhouse-users.xml", "users.sql"); d != "" {
		t.Errorf("the profile scriptstats_bi differs:\n%s", d)
		same = false
	}
	if ro := local["readonly"]; ro.Value != "1" || ro.Writability == "CHANGEABLE_IN_READONLY" {
		t.Errorf("the analyst must be read-only (readonly = 1, not changeable): %+v", ro)
	}
	var doc []string
	for _, b := range markdownSQLBlocks(t, metabaseDoc) {
		for _, s := range strings.Split(b.sql, ";") {
			s = strings.Join(strings.Fields(s), " ")
			if strings.HasPrefix(s, "ALTER SETTINGS PROFILE scriptstats_bi ") {
				doc = append(doc, s)
			}
		}
	}
	if d := prod.diff(sqlBIProfile(t, admin, "metabase.md", doc), "users.sql", "metabase.md"); d != "" {
		t.Errorf("docs/metabase.md creates another profile scriptstats_bi than users.sql:\n%s", d)
		same = false
	}
	if !same {
		return
	}
	t.Logf("profile scriptstats_bi, the same in clickhouse-users.xml, users.sql and metabase.md:\n%s", local)
}
