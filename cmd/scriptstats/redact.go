package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"sync"
)

// redactingWriter removes passwords before output reaches the underlying
// writer. All of the program's output (logs, errors) goes through one, so
// a password in a DSN cannot leak even through a library's error text.
//
// It works on the structure of DSNs, wherever one appears in the text: the
// password of a URL's user info (scheme://user:PASSWORD@host), a password
// or sslpassword query parameter (?password=…, &password=…), and a
// password or sslpassword key of a key=value DSN (password=…, quoted or
// not). Each becomes xxxxx, whatever its length. The known passwords of
// the DSNs are replaced verbatim as well, wherever they appear, but only
// when they are at least minVerbatimSecret bytes long: a short password
// replaced everywhere mangles ordinary words ("scrixxxxxtstats") and so
// gives itself away.
type redactingWriter struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
}

// minVerbatimSecret is the shortest password also replaced outside a DSN.
const minVerbatimSecret = 8

const redacted = "xxxxx"

var (
	// scheme://user:password@ — the password runs to the last @ before
	// the host part (as url.Parse reads it).
	urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:)[^/?#\s]*@`)
	// ?password=… or &password=… in a URL's query.
	queryPassword = regexp.MustCompile(`(?i)([?&](?:ssl)?password=)[^&#\s'"]*`)
	// password=… in a key=value DSN: a quoted value (with \' escapes,
	// also as JSON escapes them) or a bare one up to white space.
	kvPassword = regexp.MustCompile(`(?i)(^|[^?&\w])((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\+.)*'?|[^\s'"]*)`)
)

// redactDSNs replaces every password a DSN in s carries.
func redactDSNs(s []byte) []byte {
	s = urlPassword.ReplaceAll(s, []byte("${1}"+redacted+"@"))
	s = queryPassword.ReplaceAll(s, []byte("${1}"+redacted))
	return kvPassword.ReplaceAllFunc(s, func(m []byte) []byte {
		g := kvPassword.FindSubmatch(m)
		if bytes.HasPrefix(g[3], []byte(redacted)) {
			return m // already redacted (a query parameter)
		}
		out := append([]byte{}, g[1]...)
		out = append(out, g[2]...)
		return append(out, redacted...)
	})
}

// writtenForms are the ways a password may be written: as is, escaped for
// a URL's path, user info or query, and as JSON escapes it in a log line.
func writtenForms(pw string) []string {
	forms := []string{pw, url.QueryEscape(pw), url.PathEscape(pw)}
	u := url.URL{User: url.UserPassword("u", pw)}
	if s := u.String(); len(s) > len("//u:@") {
		forms = append(forms, s[len("//u:"):len(s)-1])
	}
	if j, err := json.Marshal(pw); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	return forms
}

func (r *redactingWriter) setSecrets(secrets []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = r.secrets[:0]
	for _, s := range secrets {
		if len(s) < minVerbatimSecret {
			continue
		}
		for _, f := range writtenForms(s) {
			r.secrets = append(r.secrets, []byte(f))
		}
	}
}

func (r *redactingWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := redactDSNs(p)
	for _, s := range r.secrets {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte(redacted))
		}
	}
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
