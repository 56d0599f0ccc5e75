package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Restarts: a child that dies within quickDeath of its start counts as a
// failed start; after maxQuickDeaths of those in a row the supervisor
// gives up (a bad config or a taken port does not heal by retrying).
const (
	quickDeath     = 10 * time.Second
	maxQuickDeaths = 5
	restartDelay   = time.Second
)

// supervise runs this command again without --restart and --pid-file as a
// child, and starts it again when it ends without having been told to.
// The pid file names the supervisor: SIGTERM or SIGINT to it stops the
// child, then itself.
func supervise(pidFile string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	var childArgs []string
	for _, a := range os.Args[1:] {
		if a == "--restart" || a == "-restart" || strings.HasPrefix(a, "--restart=") || strings.HasPrefix(a, "-restart=") ||
			strings.HasPrefix(a, "--pid-file=") || strings.HasPrefix(a, "-pid-file=") {
			continue
		}
		childArgs = append(childArgs, a)
	}
	if hasSeparatePidFileValue(childArgs) {
		return errors.New("supervise: pass --pid-file=FILE (with =) together with --restart")
	}
	if pidFile != "" {
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
		defer func() {
			if b, err := os.ReadFile(pidFile); err == nil && string(b) == strconv.Itoa(os.Getpid())+"\n" {
				_ = os.Remove(pidFile)
			}
		}()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	quick := 0
	for {
		cmd := exec.Command(self, childArgs...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
		started := time.Now()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("supervise: start the server: %w", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case sig := <-sigs:
			_ = cmd.Process.Signal(sig)
			<-exited
			fmt.Fprintf(os.Stderr, "chserver: %v, stopped the server\n", sig)
			return nil
		case err := <-exited:
			if time.Since(started) < quickDeath {
				quick++
			} else {
				quick = 0
			}
			if quick >= maxQuickDeaths {
				return fmt.Errorf("supervise: the server ended %d times within %s of its start (last: %v); giving up", quick, quickDeath, err)
			}
			fmt.Fprintf(os.Stderr, "chserver: the server ended on its own (%v); starting it again in %s\n", err, restartDelay)
			select {
			case sig := <-sigs:
				fmt.Fprintf(os.Stderr, "chserver: %v, not restarting\n", sig)
				return nil
			case <-time.After(restartDelay):
			}
		}
	}
}

// hasSeparatePidFileValue reports a "--pid-file FILE" left in
// the child's arguments (the value in its own argument): the child would
// then write the pid file over the supervisor's.
func hasSeparatePidFileValue(args []string) bool {
	for _, a := range args {
		if a == "--pid-file" || a == "-pid-file" {
			return true
		}
	}
	return false
}
