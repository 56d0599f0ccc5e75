package main

// Each command has an options struct of its own (the struct next to the
// command: migrateOptions, runOptions, ...) with its flags (register) and
// its checks (Validate). What several commands share is embedded:
// connOptions (the databases, logging) and jobOptions (the settings of a
// pass).

import (
	"errors"
	"fmt"
)

// errUsage marks a bad command line or configuration (exit status 2).
var errUsage = errors.New("usage")

// options are one command's settings after parsing.
type options interface {
	// register adds the command's flags.
	register(f *flagSet)
	// Validate checks and derives everything; usage errors wrap errUsage.
	Validate() error
	// connection is the part every command has: the secrets to scrub
	// from all output and the logging settings.
	connection() *connOptions
}

// argsTaker is implemented by options that check the positional
// arguments themselves (setup hands them over before Validate).
type argsTaker interface{ setArgs([]string) }

// noArgs is embedded by the options of a command that takes no positional
// arguments.
type noArgs struct {
	cmd   string
	extra []string
}

func (n *noArgs) setArgs(args []string) { n.extra = args }

func (n *noArgs) validate() error {
	if len(n.extra) > 0 {
		return fmt.Errorf("%w: %s takes no arguments, got %q", errUsage, n.cmd, n.extra[0])
	}
	return nil
}
