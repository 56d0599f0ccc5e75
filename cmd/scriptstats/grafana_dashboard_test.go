package main

//lint:file-ignore SA1019 docs/grafana-dashboard.json is a classic (v1) dashboard export, what Grafana 10-12 write; dashboardv2 is another schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// exportEnvelope are the fields Grafana's "Export for sharing externally"
// adds around a dashboard (not part of the dashboard schema).
type exportEnvelope struct {
	Inputs []struct {
		Name        string `json:"name"`
		Label       string `json:"label"`
		Description string `json:"description"`
		Type        string `json:"type"`
		PluginID    string `json:"pluginId"`
		PluginName  string `json:"pluginName"`
	} `json:"__inputs"`
	Requires []struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"__requires"`
}

// decodeGrafanaDashboard decodes an exported dashboard strictly: its export
// envelope into exportEnvelope (no unknown field), the dashboard into the
// grafana-foundation-sdk's dashboard.Dashboard with UnmarshalJSONStrict
// (no unknown or mistyped field, required fields present, panel options and
// field config decoded into their panel plugin's types), and returns its
// panels.
func decodeGrafanaDashboard(data []byte) (exportEnvelope, dashboard.Dashboard, []*dashboard.Panel, error) {
	var env exportEnvelope
	var d dashboard.Dashboard
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return env, d, nil, err
	}
	envJSON, _ := json.Marshal(map[string]json.RawMessage{"__inputs": fields["__inputs"], "__requires": fields["__requires"]})
	dec := json.NewDecoder(bytes.NewReader(envJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return env, d, nil, fmt.Errorf("__inputs/__requires: %w", err)
	}
	delete(fields, "__inputs")
	delete(fields, "__requires")
	rest, _ := json.Marshal(fields)
	plugins.RegisterDefaultPlugins()
	if err := sdkStrictError(d.UnmarshalJSONStrict(rest)); err != nil {
		return env, d, nil, err
	}
	// v0.0.22's strict decoders report every error but return an empty
	// cog.BuildErrors as a non-nil error when they succeed, so that the
	// values they decoded (panels, their options) are dropped: once the
	// strict pass found nothing, the panels are decoded again by the SDK's
	// plain decoders, which keep them, with their plugins' option types.
	var raw []json.RawMessage
	if err := json.Unmarshal(fields["panels"], &raw); err != nil {
		return env, d, nil, fmt.Errorf("panels: %w", err)
	}
	var panels []*dashboard.Panel
	for i, r := range raw {
		p := &dashboard.Panel{}
		if err := json.Unmarshal(r, p); err != nil {
			return env, d, nil, fmt.Errorf("panels[%d]: %w", i, err)
		}
		panels = append(panels, p)
	}
	return env, d, panels, nil
}

// sdkStrictError is err, or nil for an empty cog.BuildErrors.
func sdkStrictError(err error) error {
	var be cog.BuildErrors
	if err == nil || (errors.As(err, &be) && len(be) == 0) {
		return nil
	}
	return err
}

// TestGrafanaDashboardStrict decodes docs/grafana-dashboard.json strictly
// into Grafana's own Go types (grafana-foundation-sdk), so that a broken
// panel cannot ship; TestDocsQueries runs its queries.
func TestGrafanaDashboardStrict(t *testing.T) {
	data, err := os.ReadFile(grafanaDashboard)
	if err != nil {
		t.Fatal(err)
	}
	env, d, panels, err := decodeGrafanaDashboard(data)
	if err != nil {
		t.Fatalf("grafana-dashboard.json is not a valid Grafana dashboard:\n%v", err)
	}
	required := map[string]bool{}
	for _, r := range env.Requires {
		required[r.Type+"/"+r.ID] = true
	}
	for _, want := range []string{"grafana/grafana", "datasource/grafana-clickhouse-datasource"} {
		if !required[want] {
			t.Errorf("__requires lacks %s", want)
		}
	}
	if d.Uid == nil || *d.Uid == "" || d.Title == nil || *d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	kinds := map[string]int{}
	for i, panel := range panels {
		if panel.Type == "row" {
			t.Errorf("panels[%d] is a row: the dashboard has none", i)
			continue
		}
		title := ""
		if panel.Title != nil {
			title = *panel.Title
		}
		kinds[panel.Type]++
		if !required["panel/"+panel.Type] {
			t.Errorf("panel %q: its type %s is not in __requires", title, panel.Type)
		}
		if panel.GridPos == nil || panel.GridPos.W == 0 || panel.GridPos.H == 0 {
			t.Errorf("panel %q has no size (gridPos)", title)
		}
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		// The options are of the panel plugin's own type (a map would mean
		// an unknown panel type, whose options nothing checked).
		var options, custom any = panel.Options, nil
		if panel.FieldConfig != nil {
			custom = panel.FieldConfig.Defaults.Custom
		}
		ok := false
		switch panel.Type {
		case "heatmap":
			_, ok = options.(*heatmap.Options)
			if o, isHeat := options.(*heatmap.Options); isHeat && (o.Calculate == nil || *o.Calculate) {
				t.Errorf("heatmap %q: the data are already per step and day; options.calculate must be false", title)
			}
		case "timeseries":
			_, ok = options.(*timeseries.Options)
			if _, isTS := custom.(*timeseries.FieldConfig); custom != nil && !isTS {
				t.Errorf("time series %q: fieldConfig.defaults.custom is a %T", title, custom)
			}
		case "table":
			_, ok = options.(*table.Options)
		}
		if !ok {
			t.Errorf("panel %q (%s): options decoded as %T, not as the panel's own type", title, panel.Type, options)
		}
	}
	if kinds["heatmap"] == 0 || kinds["timeseries"] < 2 || kinds["table"] == 0 {
		t.Errorf("want a heatmap, time series and a table, got %v", kinds)
	}
	t.Logf("%d panels decoded strictly: %v", len(panels), kinds)

	// The decoder is strict: a misspelt option, a mistyped field or a panel
	// without its type are refused.
	for _, c := range []struct{ name, from, to, want string }{
		{"misspelt option", `"calculate": false`, `"calculat": false`, "calculat"},
		{"mistyped field", `"showHeader": true`, `"showHeader": "yes"`, "showHeader"},
		{"panel without a type", `"type": "heatmap"`, `"typ": "heatmap"`, "type"},
	} {
		if !strings.Contains(string(data), c.from) {
			t.Fatalf("%s: the dashboard has no %s", c.name, c.from)
		}
		broken := strings.Replace(string(data), c.from, c.to, 1)
		if _, _, _, err := decodeGrafanaDashboard([]byte(broken)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("a dashboard with a %s (%s): %v, want an error naming %s", c.name, c.to, err, c.want)
		}
	}
}
