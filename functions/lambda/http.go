package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/seed-4eefd85e/coffer/internal/httpbuf"
)

// HTTPHandler adapts h to API Gateway HTTP API (payload format 2.0) and Function URL events,
// which share one JSON shape. The caller's address comes from the request context, which the
// platform fills, never from a header the caller chose.
func HTTPHandler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := toRequest(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest, Body: err.Error(),
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}, nil
		}
		w := httpbuf.New()
		h.ServeHTTP(w, r)
		return response(w), nil
	}
}

func toRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	u, err := url.Parse(path)
	if err != nil {
		return nil, errBadEvent("the request path does not parse")
	}
	u.RawQuery = ev.RawQueryString // kept byte for byte: signatures cover the query as sent
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, errBadEvent("the base64 body does not decode")
		}
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, errBadEvent("the event has no HTTP method")
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, errBadEvent("the request does not build")
	}
	r.RequestURI = u.RequestURI()
	r.ContentLength = int64(len(body))
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	return r, nil
}

type errBadEvent string

func (e errBadEvent) Error() string { return "bad HTTP event: " + string(e) }

// response is the Lambda answer of what w collected; a Lambda answer is one JSON document, so
// nothing streams.
func response(w *httpbuf.Writer) events.APIGatewayV2HTTPResponse {
	w.WriteHeader(http.StatusOK)
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.Status, Headers: map[string]string{}}
	for k, vs := range w.Head {
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	if w.Body.Len() > 0 && !textual(w.Head.Get("Content-Type")) {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(w.Body.Bytes()), true
	} else {
		resp.Body = w.Body.String()
	}
	return resp
}

// textual reports whether a body of this type can travel as a JSON string unchanged.
func textual(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml")
}
