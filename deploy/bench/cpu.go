package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Where the CPU time goes during a measurement: the job (or the harness),
// the PostgreSQL server, the ClickHouse server, and the whole machine (all
// processes, other users' too). On a 2-core machine the three share the
// cores, so "busy" near 2 × wall means the machine is the limit.

// CPUUse is the CPU time spent during one measurement, in seconds.
type CPUUse struct {
	Wall       float64 `json:"wall_s"`
	Client     float64 `json:"client_cpu_s"`     // the job subprocess (user + system), or the harness for the raw move
	Postgres   float64 `json:"postgres_cpu_s"`   // the postmaster and its children
	ClickHouse float64 `json:"clickhouse_cpu_s"` // the ClickHouse server process
	Machine    float64 `json:"machine_busy_s"`   // every process of the machine (/proc/stat)
}

// cpuProbe knows the server processes.
type cpuProbe struct {
	postmaster int // 0: unknown
	clickhouse int // 0: unknown
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100.0

func newCPUProbe(ctx context.Context, pg *pgxpool.Pool, root string) cpuProbe {
	var p cpuProbe
	var backend int
	if err := pg.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err == nil {
		if st, ok := procStat(backend); ok {
			p.postmaster = st.ppid
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, ".local", "ch", "chserver.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			if _, ok := procStat(pid); ok {
				p.clickhouse = pid
			}
		}
	}
	return p
}

type cpuSnap struct {
	at      time.Time
	busy    float64 // machine, ticks
	pg, ch  float64 // seconds
	self    float64 // this process, seconds
	started bool
}

func (p cpuProbe) snap() cpuSnap {
	s := cpuSnap{at: time.Now(), started: true}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		// cpu user nice system idle iowait irq softirq steal ...
		for i, v := range f {
			if i == 0 || i == 4 || i == 5 || i > 8 {
				continue
			}
			x, _ := strconv.ParseFloat(v, 64)
			s.busy += x
		}
	}
	if p.clickhouse != 0 {
		// The stack's pid file names the supervisor (chserver --restart);
		// the engine is its child.
		s.ch = treeCPU(p.clickhouse)
	}
	if p.postmaster != 0 {
		s.pg = treeCPU(p.postmaster)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	return s
}

// since returns the CPU use from a to now; client is the client's CPU
// seconds (negative: this process's own).
func (p cpuProbe) since(a cpuSnap, client float64) CPUUse {
	b := p.snap()
	u := CPUUse{
		Wall:       b.at.Sub(a.at).Seconds(),
		Client:     client,
		Postgres:   b.pg - a.pg,
		ClickHouse: b.ch - a.ch,
		Machine:    (b.busy - a.busy) / clockTicks,
	}
	if client < 0 {
		u.Client = b.self - a.self
	}
	return u
}

func tvSeconds(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func rusageCPU(ru *syscall.Rusage) float64 { return tvSeconds(ru.Utime) + tvSeconds(ru.Stime) }

type pstat struct {
	ppid int
	cpu  float64 // utime + stime, seconds
	dead float64 // cutime + cstime: reaped children, seconds
}

func procStat(pid int) (pstat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return pstat{}, false
	}
	// The command name is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return pstat{}, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
	if len(f) < 15 {
		return pstat{}, false
	}
	num := func(k int) float64 { x, _ := strconv.ParseFloat(f[k-3], 64); return x }
	return pstat{ppid: int(num(4)), cpu: (num(14) + num(15)) / clockTicks, dead: (num(16) + num(17)) / clockTicks}, true
}

// treeCPU is the CPU time of a process, its live children and the children
// it has reaped: the postmaster and its backends (ended ones too), the
// ClickHouse supervisor and its engine.
func treeCPU(parent int) float64 {
	st, ok := procStat(parent)
	if !ok {
		return 0
	}
	total := st.cpu + st.dead
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c, ok := procStat(pid); ok && c.ppid == parent {
			total += c.cpu
		}
	}
	return total
}

// waitQuiet waits, up to max, until the machine has been nearly idle
// (less than a quarter of a core busy) for two seconds: other users of a
// shared machine disturb the figures. It returns how long it waited and
// how busy the machine was at the end, in cores.
func (p cpuProbe) waitQuiet(ctx context.Context, max time.Duration) (time.Duration, float64) {
	const window, idle = 2 * time.Second, 0.25
	began := time.Now()
	for {
		a := p.snap()
		select {
		case <-ctx.Done():
			return time.Since(began), 0
		case <-time.After(window):
		}
		u := p.since(a, 0)
		cores := u.Machine / u.Wall
		if cores < idle || time.Since(began) >= max {
			return time.Since(began), cores
		}
	}
}
