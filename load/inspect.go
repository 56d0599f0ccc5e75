package load

import (
	"context"
	"fmt"
)

// ServerVersion returns the ClickHouse server's version, e.g. "26.7.2".
func (s *Sink) ServerVersion(ctx context.Context) (string, error) {
	v, err := s.conn.ServerVersion()
	if err != nil {
		return "", sinkErrorf("clickhouse server version: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch), nil
}
