// Command chserver serves a ClickHouse server on loopback from libchdb.so
// (the chDB engine) for the local stack: tests, the demo and CI.
//
// It loads the library with purego (no cgo), calls query_stable_v2 with the
// arguments of clickhouse-local plus a query that starts the TCP and HTTP
// listeners and then sleeps "forever", waits until the TCP port accepts
// connections and prints one line "clickhouse ready on 127.0.0.1:P".
// SIGTERM or SIGINT ends the process (the library has no clean stop; data
// under --path survives a restart).
//
// With --restart it supervises: it runs the server as a child process and
// starts it again when the engine dies on its own. The engine aborts the
// whole process when a client dies in the middle of a query (a job killed
// during an INSERT), where a real server logs it and carries on
// (shared/spec/CLICKHOUSE-LOCAL.md); the local stack restarts it so that
// one killed client does not take the stack down for everyone.
//
// This is a development tool, not a production server.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// localResultV2 mirrors chdb.h's struct local_result_v2 (amd64/arm64 layout).
// Only the fields read here are named.
type localResultV2 struct {
	_            *byte   // buf
	_            uintptr // len
	_            uintptr // _vec
	elapsed      float64
	rowsRead     uint64
	_            uint64 // bytes_read
	errorMessage *byte
}

// The argv handed to the library: kept in package variables so that the
// memory stays reachable for as long as the (never-ending) call runs.
var (
	argvStrings [][]byte
	argvPtrs    []*byte
)

const serveQuery = "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
	"SELECT sleepEachRow(1) FROM numbers(1000000000) SETTINGS max_block_size=1 FORMAT Null"

const listenHost = "127.0.0.1"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chserver:", err)
		os.Exit(1)
	}
}

func run() error {
	lib := flag.String("lib", os.Getenv("CHDB_LIB"), "path to libchdb.so (default: $CHDB_LIB)")
	path := flag.String("path", "", "data directory (required; created if missing)")
	tcpPort := flag.Int("tcp-port", 59000, "native TCP port on 127.0.0.1")
	httpPort := flag.Int("http-port", 58123, "HTTP port on 127.0.0.1")
	configFile := flag.String("config-file", "", "optional ClickHouse config file (e.g. for users.xml)")
	pidFile := flag.String("pid-file", "", "optional file to write the process id to")
	logFile := flag.String("log-file", "", "optional server log file (ClickHouse's own log)")
	logLevel := flag.String("log-level", "information", "level for --log-file: fatal, error, warning, information, debug, trace")
	readyTimeout := flag.Duration("ready-timeout", 60*time.Second, "how long to wait for the TCP port")
	restart := flag.Bool("restart", false, "supervise: run the server as a child process and start it again when the engine dies on its own")
	flag.Parse()
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}
	if *restart {
		return supervise(*pidFile)
	}

	if *lib == "" {
		return errors.New("no library: pass --lib or set CHDB_LIB")
	}
	if _, err := os.Stat(*lib); err != nil {
		return fmt.Errorf("library: %w", err)
	}
	if *path == "" {
		return errors.New("--path is required")
	}
	if *tcpPort <= 0 || *tcpPort > 65535 || *httpPort <= 0 || *httpPort > 65535 || *tcpPort == *httpPort {
		return fmt.Errorf("bad ports: tcp %d, http %d", *tcpPort, *httpPort)
	}
	absPath, err := filepath.Abs(*path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absPath, 0o755); err != nil {
		return err
	}
	if *configFile != "" {
		if *configFile, err = filepath.Abs(*configFile); err != nil {
			return err
		}
		if _, err := os.Stat(*configFile); err != nil {
			return fmt.Errorf("config file: %w", err)
		}
	}
	// Refuse to start when a port is taken: otherwise the readiness check
	// below could be answered by some other process.
	for _, p := range []int{*tcpPort, *httpPort} {
		if err := checkPortFree(p); err != nil {
			return err
		}
	}

	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
	}
	cleanup := func() {
		if *pidFile != "" {
			// Remove it only if it is still ours.
			if b, err := os.ReadFile(*pidFile); err == nil && string(b) == strconv.Itoa(os.Getpid())+"\n" {
				_ = os.Remove(*pidFile)
			}
		}
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	handle, err := purego.Dlopen(*lib, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		cleanup()
		return fmt.Errorf("dlopen %s: %w", *lib, err)
	}
	var queryStableV2 func(argc int32, argv **byte) *localResultV2
	if _, err := purego.Dlsym(handle, "query_stable_v2"); err != nil {
		cleanup()
		return fmt.Errorf("%s: %w", *lib, err)
	}
	purego.RegisterLibFunc(&queryStableV2, handle, "query_stable_v2")

	args := []string{
		"clickhouse",
		"--path=" + absPath,
		"--listen_host=" + listenHost,
		"--tcp_port=" + strconv.Itoa(*tcpPort),
		"--http_port=" + strconv.Itoa(*httpPort),
	}
	if *configFile != "" {
		args = append(args, "--config-file="+*configFile)
	}
	if *logFile != "" {
		if *logFile, err = filepath.Abs(*logFile); err != nil {
			return err
		}
		args = append(args, "--logger.log="+*logFile, "--log-level="+*logLevel)
	}
	args = append(args, "--query="+serveQuery)
	for _, a := range args {
		b := append([]byte(a), 0)
		argvStrings = append(argvStrings, b)
		argvPtrs = append(argvPtrs, &b[0])
	}
	argvPtrs = append(argvPtrs, nil) // argv[argc] == NULL

	done := make(chan string, 1)
	go func() {
		runtime.LockOSThread()
		res := queryStableV2(int32(len(args)), &argvPtrs[0])
		runtime.KeepAlive(argvStrings)
		done <- describeResult(res)
	}()

	addr := net.JoinHostPort(listenHost, strconv.Itoa(*tcpPort))
	deadline := time.Now().Add(*readyTimeout)
	ready := false
	for !ready {
		select {
		case sig := <-sigs:
			cleanup()
			return fmt.Errorf("%v before the server was ready", sig)
		case msg := <-done:
			cleanup()
			return fmt.Errorf("server query ended before the port was ready: %s", msg)
		case <-time.After(50 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			ready = true
		} else if time.Now().After(deadline) {
			cleanup()
			return fmt.Errorf("port %s not ready after %s: %v", addr, *readyTimeout, err)
		}
	}
	fmt.Printf("clickhouse ready on %s\n", addr)

	select {
	case sig := <-sigs:
		// The library has no clean stop: returning from main ends the
		// process and its threads. ClickHouse's data is durable on disk.
		fmt.Fprintf(os.Stderr, "chserver: %v, exiting\n", sig)
		cleanup()
		return nil
	case msg := <-done:
		cleanup()
		return fmt.Errorf("server query ended: %s", msg)
	}
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(listenHost, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d on %s is not free: %w", port, listenHost, err)
	}
	return l.Close()
}

// describeResult turns what query_stable_v2 returned into a message.
func describeResult(res *localResultV2) string {
	if res == nil {
		return "query_stable_v2 returned NULL"
	}
	if res.errorMessage != nil {
		if msg := goString(res.errorMessage); msg != "" {
			return msg
		}
	}
	return fmt.Sprintf("query_stable_v2 returned after %.1fs (%d rows read) with no error text; ClickHouse may have printed the reason to stderr above", res.elapsed, res.rowsRead)
}

// goString copies a NUL-terminated C string (memory owned by the library).
func goString(p *byte) string {
	const max = 1 << 20
	n := 0
	for n < max && *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
