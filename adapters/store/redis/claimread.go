package redis

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// ClaimAndRead implements core.ClaimingReader. A read of one secret whose nonce lives under that
// secret's tag (core.NonceOn, every signed GetSecretValue) is one claimReadScript. Otherwise the
// nonce's SET NX PX and one readVersionScript per secret go out as one pipeline, which a Cluster
// client splits by node and sends to the nodes in parallel. A server that has not cached a script
// yet (first call after a restart) costs one more round trip: the lone script is sent again in
// full (it did not run, so neither did its claim); in the pipeline, the reads it refused are,
// and the claim is never repeated.
func (s *Store) ClaimAndRead(ctx context.Context, nonce string, ttl time.Duration, reads []core.VersionRead) (bool, []core.VersionFound, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if len(reads) == 1 {
		if secret, ok := core.NonceSecret(nonce); ok && secret == reads[0].Name {
			return s.claimReadOne(parent, ctx, nonce, ttl, reads[0])
		}
	}
	pipe := s.rdb.Pipeline()
	claim := pipe.SetNX(ctx, s.nonceKey(nonce), 1, time.Duration(ttlMillis(ttl))*time.Millisecond)
	cmds := make([]*redis.Cmd, len(reads))
	for i, r := range reads {
		cmds[i] = readVersionScript.EvalSha(ctx, pipe, s.secretKeys(r.Name), r.VersionID, r.Stage)
	}
	_, _ = pipe.Exec(ctx) // each command keeps its own error
	fresh, err := claim.Result()
	if err != nil {
		return false, nil, s.fail(parent, "claim nonce", err)
	}
	if !fresh {
		return false, nil, nil
	}
	found := make([]core.VersionFound, len(reads))
	for i, r := range reads {
		cmd := cmds[i]
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			cmd = readVersionScript.Run(ctx, s.rdb, s.secretKeys(r.Name), r.VersionID, r.Stage)
		}
		f := &found[i]
		f.Secret, f.Sealed, f.Err = s.versionOf(parent, r.Name, cmd, &s.decoded)
	}
	return true, found, nil
}

// claimReadOne is ClaimAndRead of r alone, with a nonce under r's secret's tag: one script, so
// one node and one round trip. The script either ran or did not, so any error but the absent
// secret's is the claim's.
func (s *Store) claimReadOne(parent, ctx context.Context, nonce string, ttl time.Duration, r core.VersionRead) (bool, []core.VersionFound, error) {
	cmd := claimReadScript.Run(ctx, s.rdb, s.claimKeys(r.Name, nonce), r.VersionID, r.Stage, ttlMillis(ttl))
	if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return false, nil, s.fail(parent, "claim nonce", err)
	}
	if used, ok := cmd.Val().(int64); ok && used == 0 {
		return false, nil, nil
	}
	found := make([]core.VersionFound, 1)
	f := &found[0]
	f.Secret, f.Sealed, f.Err = s.versionOf(parent, r.Name, cmd, &s.decoded)
	return true, found, nil
}
