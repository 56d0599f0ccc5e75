package main

// Pushing a pass's metrics to a Prometheus Pushgateway (`run`, `backfill`:
// they end after one pass).

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/scriptstats/scriptstats/schedules"
)

const (
	// pushJob is the Pushgateway job name.
	pushJob     = "scriptstats"
	pushTimeout = 15 * time.Second
)

// pushgatewayFlag registers --pushgateway-url (run, backfill).
func pushgatewayFlag(f *flagSet, u *string) {
	f.value((*pushURLValue)(u), "pushgateway-url", "", "Prometheus Pushgateway to push the pass's metrics to, e.g. http://pushgateway:9091 (job \"scriptstats\"; a failed push is only a warning)")
}

// pushURLValue is an http(s) URL, or empty (no push).
type pushURLValue string

func (v *pushURLValue) Set(s string) error {
	if s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http(s)://host:port URL")
		}
	}
	*v = pushURLValue(s)
	return nil
}

// String never shows credentials a URL may hold.
func (v *pushURLValue) String() string {
	if u, err := url.Parse(string(*v)); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return string(*v)
}

// pushMetrics pushes the metrics of a pass of the given kind ("incremental"
// for run, "backfill") to the Pushgateway at rawURL, when set. It uses POST:
// a failed pass replaces only the failure metrics, so the group keeps the
// last success's timestamp and figures. A push failure is logged as a
// warning; it never fails the command.
func (a *app) pushMetrics(ctx context.Context, rawURL, kind string, sum schedules.Summary, passErr error) {
	if rawURL == "" || errors.Is(passErr, errUsage) {
		return
	}
	m := newPassMetrics(false)
	m.observe(kind, sum, passErr, time.Now())
	p, where, err := newPusher(rawURL, kind)
	if err != nil {
		a.log.Warn().Str("error", err.Error()).Msg("metrics not pushed: bad --pushgateway-url")
		return
	}
	if passErr == nil {
		p = p.Gatherer(m.reg)
	} else {
		p = p.Collector(m.failures).Collector(m.lastFailure).Collector(m.build)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
	defer cancel()
	if err := p.AddContext(ctx); err != nil {
		a.log.Warn().Str("pushgateway", where).Str("error", err.Error()).Msg("metrics push failed; the pass itself is not affected")
		return
	}
	a.log.Debug().Str("pushgateway", where).Str("pass", kind).Msg("metrics pushed")
}

// newPusher builds the pusher; credentials in the URL become basic auth and
// are kept out of the URL (and so out of every error message).
func newPusher(rawURL, kind string) (p *push.Pusher, where string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", errors.New("want an http(s)://host:port URL")
	}
	user := u.User
	u.User = nil
	p = push.New(u.String(), pushJob).Grouping("pass", kind).Client(&http.Client{Timeout: pushTimeout})
	if user != nil {
		pw, _ := user.Password()
		p = p.BasicAuth(user.Username(), pw)
	}
	return p, u.Host, nil
}

// ---------------------------------------------------------------- schedule
