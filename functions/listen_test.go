package functions_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions/emulator"
)

// A listener off loopback without TLS would serve secret values in clear: it is refused unless
// TLS is configured or the operator says a TLS-terminating proxy is in front (issue 23, finding 7).
func TestPlainListenerOffLoopbackRefused(t *testing.T) {
	cases := []struct {
		env     map[string]string
		refused bool
	}{
		{map[string]string{}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "::1"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "127.0.0.2"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "localhost"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "0.0.0.0"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": ""}, true}, // every interface
		{map[string]string{"COFFER_LISTEN_HOST": "10.0.0.5"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": "::"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": "coffer.internal"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": "0.0.0.0", "COFFER_TLS_SELF_SIGNED": "true"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "0.0.0.0", "COFFER_TLS_BY_PROXY": "true"}, false},
	}
	for _, c := range cases {
		_, err := emulator.LoadConfig(context.Background(), envconfig.MapLookuper(c.env))
		refused := err != nil && strings.Contains(err.Error(), "COFFER_LISTEN_HOST") && strings.Contains(err.Error(), "COFFER_TLS_BY_PROXY")
		if refused != c.refused || (!c.refused && err != nil) {
			t.Errorf("%v: %v", c.env, err)
		}
	}
}
