package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/scriptstats/scriptstats/extract"
	"github.com/scriptstats/scriptstats/load"
	"github.com/scriptstats/scriptstats/schedules"
)

// errDoctor: doctor found a guarantee that does not hold (exit 1).
type errDoctor struct{ failed int }

func (e errDoctor) Error() string {
	return fmt.Sprintf("doctor: %d check(s) failed", e.failed)
}

// doctor checks source and sink and prints, for each guarantee, whether it
// holds here and on what it rests (CONTRACT.md section 4).
// doctorOptions: the settings of a pass, checked against source and sink.
type doctorOptions struct {
	jobOptions
	noArgs
	JSON bool
}

func (o *doctorOptions) register(f *flagSet) {
	o.jobOptions.register(f)
	f.bool(&o.JSON, "json", "false", "print the checks as a JSON array")
	o.cmd = "doctor"
}

func (o *doctorOptions) Validate() error {
	if err := o.jobOptions.Validate(); err != nil {
		return err
	}
	return o.noArgs.validate()
}

func (a *app) doctor(ctx context.Context, args []string) error {
	var o doctorOptions
	if err := a.parse("doctor", args, &o); err != nil {
		return err
	}
	in := schedules.DoctorInput{
		ZoneName: o.Timezone, Zone: o.Zone, Lookback: o.Lookback,
		ZoneProbes: schedules.ZoneProbes(o.Zone, time.Now()),
	}
	if src, err := extract.Open(ctx, o.PGDSN, o.StatementTimeout); err != nil {
		in.SourceErr = err
	} else {
		in.Source, in.SourceErr = src.Inspect(ctx)
		if in.SourceErr == nil {
			in.ZoneLocal, in.SourceErr = src.LocalTimes(ctx, o.Timezone, in.ZoneProbes)
		}
		if o.Source == "logical" {
			if opts, err := load.ParseDSN(o.ClickHouseDSN); err == nil {
				slot := extract.SlotFor(opts.Auth.Database)
				in.Slot = &slot
				in.SlotStatus, in.SlotErr = src.SlotStatus(ctx, slot)
			}
		}
		src.Close()
	}
	if sink, err := load.OpenWith(ctx, o.ClickHouseDSN, o.sinkOptions()); err != nil {
		in.SinkErr = err
	} else {
		sink.Retry.Attempts = 1 // a doctor reports; it does not wait out an outage
		in.SinkVersion, in.SinkErr = sink.ServerVersion(ctx)
		if in.SinkErr == nil {
			if in.SchemaErr = sink.CheckSchema(ctx); in.SchemaErr == nil {
				in.State, in.HasState, in.SchemaErr = sink.ReadState(ctx)
			}
		}
		_ = sink.Close()
	}
	checks := schedules.Diagnose(in)
	if err := printChecks(a.stdout, checks, o.JSON); err != nil {
		return err
	}
	failed := 0
	for _, c := range checks {
		if c.Status == schedules.CheckFail {
			failed++
		}
	}
	if failed > 0 {
		return errDoctor{failed}
	}
	return nil
}

func printChecks(w io.Writer, checks []schedules.Check, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(checks)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range checks {
		fmt.Fprintf(tw, "%-4s\t%s\t%s\n", c.Status, c.Name, c.Detail)
		if c.RestsOn != "" {
			fmt.Fprintf(tw, "\t\trests on: %s\n", c.RestsOn)
		}
	}
	return tw.Flush()
}
