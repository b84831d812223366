// Command baseline is the yardstick of scripts/bench: the least a networked secret read can cost
// on this architecture, a bare net/http handler doing one Redis GET of a 300-byte value. The load
// generator drives it exactly as it drives Coffer.
//
//	COFFER_REDIS_URL=redis://127.0.0.1:6379/0 PORT=8081 baseline
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key holds the value the handler serves; scripts/bench sets it.
const Key = "baseline:value"

func main() {
	opts, err := redis.ParseURL(os.Getenv("COFFER_REDIS_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline: COFFER_REDIS_URL:", err)
		os.Exit(1)
	}
	rdb := redis.NewClient(opts)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		v, err := rdb.Get(ctx, Key).Bytes()
		if err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(v)
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "baseline: listening on", srv.Addr)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}
