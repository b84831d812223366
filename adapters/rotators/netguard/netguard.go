// Package netguard dials rotation targets only where the operator's list (core.RotationTargets)
// allows. It decides on the address actually dialled, after DNS resolution, so that no name can
// resolve its way to a metadata service or past the list.
package netguard

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// dialTimeout bounds a connection attempt when the caller's context has no earlier deadline.
const dialTimeout = 20 * time.Second

// Dialer connects to rotation targets the list allows.
type Dialer struct {
	Targets *core.RotationTargets
}

// DialContext has net.Dialer's signature, for database drivers, SSH and HTTP transports.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	byName := d.Targets.NameAllowed(host)
	nd := net.Dialer{Timeout: dialTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		return d.Targets.CheckAddr(ap.Addr(), byName)
	}}
	return nd.DialContext(ctx, network, addr)
}

// Transport is an HTTP transport that dials through d. It reads no proxy from the environment:
// a proxy would connect on Coffer's behalf, past the check. It is not an *http.Transport, so
// SDKs that rewrite such a transport's dialer leave it alone.
func (d Dialer) Transport() http.RoundTripper {
	return transport{&http.Transport{
		DialContext: d.DialContext, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second, MaxIdleConns: 16, IdleConnTimeout: 90 * time.Second,
	}}
}

type transport struct{ t *http.Transport }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) { return t.t.RoundTrip(r) }

// Client is an HTTP client over Transport that follows no redirect, so a target cannot send a
// call (and the value it carries) on to another host.
func (d Dialer) Client() *http.Client {
	return &http.Client{Transport: d.Transport(), Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}
