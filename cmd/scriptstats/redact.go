package main

import (
	"bytes"
	"io"
	"sync"
)

// redactingWriter replaces every secret with xxxxx before it reaches the
// underlying writer. All of the program's output (logs, errors) goes
// through one, so a password in a DSN cannot leak even through a library's
// error text.
type redactingWriter struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
}

func (r *redactingWriter) setSecrets(secrets []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = r.secrets[:0]
	for _, s := range secrets {
		if len(s) >= 1 {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
}

func (r *redactingWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := p
	for _, s := range r.secrets {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte("xxxxx"))
		}
	}
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
