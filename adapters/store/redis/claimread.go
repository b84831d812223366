package redis

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// ClaimAndRead implements core.ClaimingReader: the nonce's SET NX PX and one readVersionScript per
// secret go out as one pipeline, which a Cluster client splits by node and sends to the nodes in
// parallel. A server that has not cached the script yet (first call after a restart) costs one
// more round trip for the reads it refused; the claim is never repeated.
func (s *Store) ClaimAndRead(ctx context.Context, nonce string, ttl time.Duration, reads []core.VersionRead) (bool, []core.VersionFound, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
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
		f.Secret, f.Sealed, f.Err = s.versionOf(parent, r.Name, cmd)
	}
	return true, found, nil
}
