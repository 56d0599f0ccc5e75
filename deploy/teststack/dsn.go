package teststack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresDSN returns dsn (a postgres:// URL or a key=value DSN) pointing at
// database instead, with the same servers, credentials and settings. Both
// forms are parsed by pgconn.ParseConfig, the parser the job itself uses, and
// the result is checked with it: only the database differs. Errors never
// quote the DSN (it holds a password).
func PostgresDSN(dsn, database string) (string, error) {
	before, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", errors.New("postgres DSN: pgconn cannot parse it")
	}
	var out string
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("postgres DSN: cannot parse it as a URL")
		}
		q := u.Query()
		q.Del("dbname") // a dbname parameter would win over the path
		u.RawQuery = q.Encode()
		u.Path, u.RawPath = "/"+database, ""
		out = u.String()
	} else {
		// key=value form: a later keyword overrides an earlier one.
		out = strings.TrimSpace(dsn) + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(database) + "'"
	}
	after, err := pgconn.ParseConfig(out)
	if err != nil {
		return "", errors.New("postgres DSN: pgconn cannot parse it with the database replaced")
	}
	if after.Database != database || after.Host != before.Host || after.Port != before.Port ||
		after.User != before.User || after.Password != before.Password {
		return "", fmt.Errorf("postgres DSN: replacing the database by %q changed more than the database", database)
	}
	return out, nil
}
