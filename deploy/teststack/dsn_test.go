package teststack

import (
	"strings"
	"testing"
)

func TestPostgresDSN(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:p%40ss@127.0.0.1:55432/postgres?sslmode=disable",
			"postgres://u:p%40ss@127.0.0.1:55432/t_x?sslmode=disable"},
		{"postgresql://u@h:5/postgres?dbname=other&sslmode=disable",
			"postgresql://u@h:5/t_x?sslmode=disable"},
		{"host=h port=5 user=u password='a b' dbname=postgres sslmode=disable",
			"host=h port=5 user=u password='a b' dbname=postgres sslmode=disable dbname='t_x'"},
	} {
		got, err := PostgresDSN(c.in, "t_x")
		if err != nil {
			t.Fatalf("PostgresDSN(%q): %v", c.in, err)
		}
		if got != c.want {
			t.Errorf("PostgresDSN(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if _, err := PostgresDSN("postgres://u:secret@h:notaport/x", "t_x"); err == nil {
		t.Error("PostgresDSN accepted a DSN with a bad port")
	} else if s := err.Error(); strings.Contains(s, "secret") {
		t.Errorf("the error quotes the password: %s", s)
	}
}
