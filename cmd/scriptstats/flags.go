package main

// Flags with an environment fallback: every flag NAME falls back to
// SCRIPTSTATS_<NAME>; a value that does not parse is an error, never a
// silent default.

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// flagSet registers flags with an environment fallback and shows both, and
// the default, in --help.
type flagSet struct {
	*flag.FlagSet
	envErrs []error
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &flagSet{FlagSet: fs}
}

func envName(flagName string) string {
	return "SCRIPTSTATS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// value registers a flag whose default comes from its environment variable
// when set; the variable's value must parse like the flag's.
func (f *flagSet) value(v flag.Value, name, def, usage string) {
	env := envName(name)
	if err := v.Set(def); err != nil {
		panic(fmt.Sprintf("flag %s: bad built-in default %q", name, def))
	}
	if s, ok := os.LookupEnv(env); ok {
		if err := v.Set(s); err != nil {
			f.envErrs = append(f.envErrs, fmt.Errorf("%s: %w", env, err))
		}
	}
	shown := def
	if shown == "" {
		shown = "none"
	}
	f.Var(v, name, fmt.Sprintf("%s (env %s; default %s)", usage, env, shown))
	// The usage text already names the built-in default; flag would print
	// the current value (maybe from the environment) as a second default.
	f.Lookup(name).DefValue = zeroValue(v)
}

// zeroValue is what flag treats as "no default" for v.
func zeroValue(v flag.Value) string {
	switch v.(type) {
	case *boolValue:
		return "false"
	case *intValue:
		return "0"
	case *durationValue:
		return "0s"
	}
	return ""
}

func (f *flagSet) string(p *string, name, def, usage string) {
	f.value((*stringValue)(p), name, def, usage)
}
func (f *flagSet) secret(p *string, name, usage string) { f.value((*secretValue)(p), name, "", usage) }
func (f *flagSet) duration(p *time.Duration, name, def, usage string) {
	f.value((*durationValue)(p), name, def, usage)
}
func (f *flagSet) int(p *int, name, def, usage string)   { f.value((*intValue)(p), name, def, usage) }
func (f *flagSet) bool(p *bool, name, def, usage string) { f.value((*boolValue)(p), name, def, usage) }

type stringValue string

func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }
func (s *stringValue) String() string     { return string(*s) }

// secretValue never shows its value (flag's help prints defaults).
type secretValue string

func (s *secretValue) Set(v string) error { *s = secretValue(v); return nil }
func (s *secretValue) String() string     { return "" }

type durationValue time.Duration

func (d *durationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("not a duration: %q (use e.g. 10m)", v)
	}
	if x < 0 {
		return fmt.Errorf("negative duration %q", v)
	}
	*d = durationValue(x)
	return nil
}
func (d *durationValue) String() string { return time.Duration(*d).String() }

type intValue int

func (i *intValue) Set(v string) error {
	x, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("not a whole number: %q", v)
	}
	*i = intValue(x)
	return nil
}
func (i *intValue) String() string { return strconv.Itoa(int(*i)) }

type boolValue bool

func (b *boolValue) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("not true or false: %q", v)
	}
	*b = boolValue(x)
	return nil
}
func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }
