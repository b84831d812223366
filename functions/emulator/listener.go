package emulator

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
)

// plainTooLarge is net/http's whole answer to a request whose line and headers exceed
// MaxHeaderBytes: written before any handler runs, in plain text, so an SDK reads no Code in it.
const plainTooLarge = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"

// Listener answers what net/http answers itself on ln's connections in the protocol's JSON
// error shape, as every other refusal: a request line and headers over the server's
// MaxHeaderBytes (SDKs send every parameter, SecretData too, in the query) get 431 with a Code.
// maxData is the server's COFFER_MAX_SECRET_DATA, which the answer names. It sees plain text
// only, so wrap the listener under an HTTP server, never under TLS.
func Listener(ln net.Listener, maxData int) net.Listener { return jsonErrorsListener{ln, maxData} }

type jsonErrorsListener struct {
	net.Listener
	maxData int
}

func (l jsonErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return jsonErrorsConn{c, l.maxData}, nil
}

type jsonErrorsConn struct {
	net.Conn
	maxData int
}

func (c jsonErrorsConn) Write(b []byte) (int, error) {
	if string(b) != plainTooLarge {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(tooLargeAnswer(c.maxData)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite lets net/http half-close after the 431, as it does on a bare TCP connection, so the
// client reads the answer before the connection goes.
func (c jsonErrorsConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tooLargeAnswer is the 431 in the protocol's shape, with a fresh RequestId.
func tooLargeAnswer(maxData int) []byte {
	var rec answer
	rec.header = http.Header{}
	acsapi.WriteError(&rec, &http.Request{}, acsapi.NewRequestID(), &acsapi.Error{
		Status: http.StatusRequestHeaderFieldsTooLarge,
		Code:   "InvalidParameter",
		Message: fmt.Sprintf("The request line and headers are larger than %d bytes. Parameters travel in the query: "+
			"a secret value holds at most %d bytes here (COFFER_MAX_SECRET_DATA).", http.DefaultMaxHeaderBytes, maxData),
	})
	res := http.Response{
		StatusCode: rec.status, ProtoMajor: 1, ProtoMinor: 1, Header: rec.header, Close: true,
		ContentLength: int64(rec.body.Len()), Body: io.NopCloser(&rec.body),
	}
	var out bytes.Buffer
	_ = res.Write(&out) // a bytes.Buffer takes every write
	return out.Bytes()
}

// answer keeps what WriteError writes, to send it on a connection no handler owns.
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answer) Header() http.Header         { return a.header }
func (a *answer) WriteHeader(status int)      { a.status = status }
func (a *answer) Write(b []byte) (int, error) { return a.body.Write(b) }
