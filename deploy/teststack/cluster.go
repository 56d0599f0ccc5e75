package teststack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ClusterName is the remote_servers cluster of PrivateClickHouseCluster,
// whose replicas resolve unqualified names in ClusterDatabase.
const (
	ClusterName     = "scriptstats_test"
	ClusterDatabase = "scriptstats"
)

// PrivateClickHouseCluster starts n private ClickHouse servers, each one
// shard of the cluster ClusterName (one replica each: the local engine has
// no Keeper), with the local stack's users. Objects are created on each
// node (--clickhouse-cluster-ddl per-node).
func PrivateClickHouseCluster(t testing.TB, n int) []*ClickHouseServer {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		skipOrFail(t, "%v", err)
	}
	ports := make([][2]int, n)
	var shards strings.Builder
	for i := range ports {
		ports[i] = [2]int{FreePort(t), FreePort(t)}
		fmt.Fprintf(&shards, "      <shard><replica><host>127.0.0.1</host><port>%d</port><default_database>%s</default_database></replica></shard>\n", ports[i][0], ClusterDatabase)
	}
	config := filepath.Join(t.TempDir(), "cluster-config.xml")
	users := filepath.Join(root, "deploy", "local", "clickhouse-users.xml")
	body := fmt.Sprintf(`<?xml version="1.0"?>
<clickhouse>
  <user_directories><users_xml><path>%s</path></users_xml></user_directories>
  <remote_servers>
    <%s>
%s    </%s>
  </remote_servers>
</clickhouse>
`, users, ClusterName, shards.String(), ClusterName)
	if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := make([]*ClickHouseServer, n)
	for i, p := range ports {
		out[i] = PrivateClickHouse(t, ClickHouseOptions{ConfigFile: config, TCPPort: p[0], HTTPPort: p[1]})
	}
	return out
}
