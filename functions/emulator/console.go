package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/console"
	"github.com/seed-4eefd85e/coffer/core"
)

// consoleCSP lets the console load only its own files and call only its own origin: no inline
// script, no third party, no framing.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Console serves the web console's static files under /console/. The page signs its own calls
// with the access key the user enters, so the server keeps no session for it.
func Console() http.Handler {
	files := http.StripPrefix("/console/", http.FileServerFS(console.Files()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// Folders other than the root list nothing.
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != "/console/" {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// corsHeaders are the request headers a browser may send cross-origin: the ones the console signs.
const corsHeaders = "authorization, content-type, x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce, " +
	"x-acs-content-sha256, x-acs-security-token"

// withCORS lets browsers on the configured console origins, and on the emulator's own origin,
// call the API; any other origin gets no CORS headers, so its pages cannot read an answer.
func (e *Emulator) withCORS(next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, o := range e.cfg.ConsoleOrigins {
		allowed[strings.ToLower(o)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		ok := allowed[strings.ToLower(origin)] || strings.EqualFold(origin, ownOrigin(r))
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !ok {
			acsapi.WriteError(w, r, acsapi.NewRequestID(),
				core.Errorf(core.KindNoPermission, "origin %s may not call this API: list it in COFFER_CONSOLE_ORIGINS", origin))
			return
		}
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

// ownOrigin is the origin the request was sent to, which is the console's when the emulator
// serves it.
func ownOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// checkOrigin accepts only a bare origin, scheme://host[:port], as browsers send it.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("%q is not an origin such as https://console.example.com", o)
	}
	return nil
}
