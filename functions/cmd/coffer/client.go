package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

// client is the official SDK client with the runtime options every call takes: a deadline, and
// the TLS trust the operator chose.
type client struct {
	sdk *kms.Client
	rt  *util.RuntimeOptions
	drt *dara.RuntimeOptions
}

// connect resolves the connection settings and builds the SDK client.
func (c *cli) connect() (*client, error) {
	conn, err := c.resolve(true)
	if err != nil {
		return nil, err
	}
	return conn.client()
}

// connectFor checks the number of positional arguments, then connects.
func (c *cli) connectFor(args []string, n int, names string) (*client, error) {
	if err := wantArgs(args, n, names); err != nil {
		return nil, err
	}
	return c.connect()
}

func (conn *connection) client() (*client, error) {
	// The SDK's HTTP client gives up after connect plus read timeout: split --timeout between them.
	connect := max(int(conn.timeout.Milliseconds())/3, 1)
	read := max(int(conn.timeout.Milliseconds())-connect, 1)
	cfg := &openapi.Config{
		AccessKeyId: tea.String(conn.keyID), AccessKeySecret: tea.String(conn.keySecret),
		Endpoint: tea.String(conn.url.Host), Protocol: tea.String(conn.url.Scheme), RegionId: tea.String("coffer"),
		ReadTimeout: tea.Int(read), ConnectTimeout: tea.Int(connect),
	}
	if conn.caFile != "" {
		pem, err := os.ReadFile(conn.caFile)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		cfg.Ca = tea.String(string(pem))
	}
	if conn.pin != nil {
		cfg.HttpClient = pinnedClient{&http.Client{Timeout: conn.timeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, TLSClientConfig: pinnedTLS(conn.pin),
		}}}
	}
	sdk, err := kms.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("sdk client: %w", err)
	}
	// No automatic retries: a command says what happened; the operator or the script retries.
	rt := &util.RuntimeOptions{ReadTimeout: tea.Int(read), ConnectTimeout: tea.Int(connect), IgnoreSSL: tea.Bool(conn.insecure), Autoretry: tea.Bool(false)}
	drt := &dara.RuntimeOptions{ReadTimeout: tea.Int(read), ConnectTimeout: tea.Int(connect), IgnoreSSL: tea.Bool(conn.insecure), Autoretry: tea.Bool(false)}
	return &client{sdk: sdk, rt: rt, drt: drt}, nil
}

// pinnedClient sends the SDK's requests through a client that trusts a pinned certificate; the
// SDK offers no other way to verify a certificate than by a CA.
type pinnedClient struct{ hc *http.Client }

func (p pinnedClient) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return p.hc.Do(req)
}

// call sends an action the SDK has no method for (Coffer's extension actions) through its generic
// CallApi, exactly as the typed methods send theirs.
func (cl *client) call(action string, query map[string]string) (map[string]any, error) {
	q := map[string]*string{}
	for k, v := range query {
		if v != "" {
			q[k] = tea.String(v)
		}
	}
	res, err := cl.sdk.CallApi(&openapiutil.Params{
		Action: tea.String(action), Version: tea.String("2016-01-20"), Protocol: cl.sdk.Protocol,
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}, &openapiutil.OpenApiRequest{Query: q}, cl.drt)
	if err != nil {
		return nil, protocolErr(err)
	}
	body, _ := res["body"].(map[string]any)
	return body, nil
}

// call connects and sends one extension action; see client.call.
func (c *cli) call(action string, query map[string]string) (map[string]any, error) {
	cl, err := c.connect()
	if err != nil {
		return nil, err
	}
	return cl.call(action, query)
}

// callPages collects every page of an extension list action; items sit under outer.inner.
func (cl *client) callPages(action string, query map[string]string, outer, inner string) ([]map[string]any, error) {
	return pages(func(n int32) ([]map[string]any, int, error) {
		q := map[string]string{"PageNumber": strconv.Itoa(int(n)), "PageSize": "100"}
		for k, v := range query {
			q[k] = v
		}
		body, err := cl.call(action, q)
		if err != nil {
			return nil, 0, err
		}
		items, total := page(body, outer, inner)
		return items, total, nil
	})
}

// do connects and sends one typed SDK action, given as a method expression such as
// (*kms.Client).DescribeKeyWithOptions. It returns the answer's body in the printers' form, and an
// error as the endpoint's protocol error.
func do[Req, Resp any](c *cli, method func(*kms.Client, Req, *util.RuntimeOptions) (Resp, error), req Req) (map[string]any, error) {
	cl, err := c.connect()
	if err != nil {
		return nil, err
	}
	return invoke(cl, method, req)
}

// invoke sends one typed SDK action through a connected client; see do.
func invoke[Req, Resp any](cl *client, method func(*kms.Client, Req, *util.RuntimeOptions) (Resp, error), req Req) (map[string]any, error) {
	resp, err := method(cl.sdk, req, cl.rt)
	if err != nil {
		return nil, protocolErr(err)
	}
	return bodyOf(resp), nil
}

// listAll connects and collects every page of a typed SDK list action: request(n) asks for page n,
// and each answer's items sit under outer.inner.
func listAll[Req, Resp any](c *cli, method func(*kms.Client, Req, *util.RuntimeOptions) (Resp, error),
	request func(n int32) Req, outer, inner string) ([]map[string]any, error) {
	cl, err := c.connect()
	if err != nil {
		return nil, err
	}
	return pages(func(n int32) ([]map[string]any, int, error) {
		body, err := invoke(cl, method, request(n))
		if err != nil {
			return nil, 0, err
		}
		items, total := page(body, outer, inner)
		return items, total, nil
	})
}

// pages fetches every page of a list action; fetch returns one page's items and the total.
func pages(fetch func(number int32) ([]map[string]any, int, error)) ([]map[string]any, error) {
	var all []map[string]any
	for n := int32(1); ; n++ {
		items, total, err := fetch(n)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) == 0 || len(all) >= total {
			return all, nil
		}
	}
}

// page reads one answer of a list action: the items under outer.inner and TotalCount.
func page(body map[string]any, outer, inner string) ([]map[string]any, int) {
	total, _ := body["TotalCount"].(float64)
	return list(body, outer, inner), int(total)
}

// asMap turns an SDK response body into the generic form the printers take.
func asMap(body any) map[string]any {
	raw, _ := json.Marshal(body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out) // an SDK struct always marshals to an object
	return out
}

// bodyOf is the Body of a typed SDK answer in the printers' form: asMap(resp.Body) for any of the
// SDK's response types, which all carry the body under the JSON name "body".
func bodyOf(resp any) map[string]any {
	body, _ := asMap(resp)["body"].(map[string]any)
	if body == nil {
		body = map[string]any{} // no body marshals as null, which asMap turns into {}
	}
	return body
}

// protocolError is an error answer of the endpoint, or a failure to reach it.
type protocolError struct {
	status    int
	code      string
	message   string
	requestID string
}

func (e *protocolError) Error() string {
	s := e.code + ": " + e.message
	if e.requestID != "" {
		s += " (request " + e.requestID + ")"
	}
	return s
}

// notFound is exit code 3: the named secret, version, key or instance does not exist.
func (e *protocolError) notFound() bool {
	switch e.code {
	case "Forbidden.ResourceNotFound", "Forbidden.KeyNotFound", "Forbidden.DKMSInstanceNotFound":
		return true
	}
	return false
}

// protocolErr extracts the protocol code and the server's own message from an SDK error.
func protocolErr(err error) error {
	if err == nil {
		return nil
	}
	var se *tea.SDKError
	if !errors.As(err, &se) {
		// Not an answer of the endpoint: connection refused, TLS failure, timeout.
		return &protocolError{code: "Unreachable", message: scrubQuery(err.Error())}
	}
	pe := &protocolError{status: tea.IntValue(se.StatusCode), code: tea.StringValue(se.Code), message: tea.StringValue(se.Message)}
	var data map[string]any
	if json.Unmarshal([]byte(tea.StringValue(se.Data)), &data) == nil {
		if m, ok := data["Message"].(string); ok {
			pe.message = m
		}
		pe.requestID, _ = data["RequestId"].(string)
	}
	switch {
	case pe.status == 0 && pe.requestID == "":
		pe.code = "Unreachable"
		pe.message = scrubQuery(strings.TrimSpace(strings.TrimPrefix(pe.message, "SDKError:")))
	case pe.code == "" || pe.code == "<nil>":
		// Not the protocol's JSON: a proxy's or the HTTP server's own answer, such as 431 for a
		// request too large to read (the SDK then spells the missing code "<nil>"). Its body is
		// not ours to print.
		pe.code, pe.message = "HTTP"+strconv.Itoa(pe.status), http.StatusText(pe.status)
		if pe.status == http.StatusRequestHeaderFieldsTooLarge || pe.status == http.StatusRequestEntityTooLarge {
			pe.message += ": the request is larger than the endpoint accepts (a secret value holds at most 65536 bytes unless the server sets COFFER_MAX_SECRET_DATA)"
		}
	}
	return pe
}

// queryPart matches the query of a URL quoted in a transport error: the SDK sends every
// parameter, SecretData included, in the query, so it must never be printed.
var queryPart = regexp.MustCompile(`\?[^\s"]*`)

func scrubQuery(msg string) string { return queryPart.ReplaceAllString(msg, "") }
