package accesskey

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/seed-4eefd85e/coffer/core"
)

// Cause names a failed cloud call for LastError and the logs without repeating the answer's
// body, which an endpoint that is not the cloud's could fill with whatever it can reach: the
// cloud's error code when the call went to the cloud's own endpoint, else only the HTTP status,
// or the network failure.
func Cause(t core.RotationTarget, what, code string, status int, err error) error {
	var oe *net.OpError
	switch {
	case code != "" && t.Custom("Endpoint") == "":
		return fmt.Errorf("%s: %s", what, code)
	case status != 0:
		return fmt.Errorf("%s: the endpoint answered HTTP %d", what, status)
	case errors.As(err, &oe):
		return fmt.Errorf("%s: %w", what, oe)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: the endpoint did not answer in time", what)
	}
	return fmt.Errorf("%s: the endpoint's answer is not the cloud API's", what)
}
