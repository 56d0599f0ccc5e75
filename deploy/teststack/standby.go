package teststack

import (
	"os"
	"path/filepath"
	"testing"
)

// Standby makes a streaming hot standby of this server (pg_basebackup -R)
// on a free port and starts it; it is stopped and deleted when the test
// ends. Its superuser password is the primary's.
func (s *PostgresServer) Standby(t testing.TB) *PostgresServer {
	t.Helper()
	sb := &PostgresServer{
		Host: "127.0.0.1", t: t, bindir: s.bindir, opts: s.opts,
		dir:      newInstanceDir(t, "pg-standby"),
		Password: s.Password,
	}
	sb.data = filepath.Join(sb.dir, "data")
	t.Cleanup(func() {
		sb.stop("immediate")
		_ = os.RemoveAll(sb.dir)
	})
	chownPostgres(t, sb.dir)
	cmd := runAsPostgres(filepath.Join(s.bindir, "pg_basebackup"), "-D", sb.data, "-R", "-X", "stream",
		"-d", s.DSN(""), "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("teststack: pg_basebackup: %v\n%s", err, out)
	}
	for attempt := 1; ; attempt++ {
		sb.Port = FreePort(t)
		sb.writeConf(t)
		if err := sb.start(); err == nil {
			break
		} else if attempt == 3 {
			t.Fatalf("teststack: start standby: %v", err)
		}
	}
	return sb
}
