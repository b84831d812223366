package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/seed-4eefd85e/coffer/core"
)

// Nonces live in memory, so a read costs no fsync; the file holds them only across a clean stop.
// Replay protection across a crash rests on a bound kept durable ahead of every claim: no nonce in
// memory expires after keyNoncesUntil. Close writes the live nonces and clears the bound in one
// transaction; Open finds the bound still set only when the last process stopped without Close
// (killed, crashed, power lost), and then refuses a claim that would expire by the bound: it may
// be the replay of a nonce claimed before the crash. A nonce's expiry is its request's signed
// timestamp plus twice the allowed skew (acsapi.Verifier.NonceTTL), so a replay carries the expiry of its
// first claim, at most the bound, while a request signed after the restart expires later.
//
// What a crash may and may not allow:
//   - it may cost availability: after a crash, a signed call answers 503 while its timestamp plus
//     twice the skew is not past the bound, that is when it was signed up to boundStep (1 s) after the
//     newest timestamp answered before the crash. Open waits out boundStep, and the second a
//     signed timestamp is truncated by, after a crash, so a client whose clock agrees with the
//     server's is not refused; one whose clock was ahead by d before the crash (or is behind by d
//     after it) is refused up to d longer, at most the skew (15 minutes by default);
//   - a restart after a crash takes about two seconds longer;
//   - it may not allow a replay: a nonce answered before the crash expires by the bound, the bound
//     was durable before the nonce was answered, and its replay carries the same expiry;
//   - a clean stop (Close) keeps the nonces and refuses nothing after it.

// Memory holds every live nonce, about a hundred bytes each, as Redis does: 2,000 calls/s keep
// some 360 MB for the default 15-minute skew (a nonce lives from its timestamp to timestamp+2·skew).

// boundStep is how far ahead of the latest expiry the durable bound is set, so it is written (one
// fsync) at most once per boundStep under steady traffic.
const boundStep = time.Second

// settle waits, after a crash, until a request signed now expires past the bound the crash left
// (for a client whose clock agrees with the server's), so that restarting costs a moment rather
// than refused calls: boundStep, and a second more because signed timestamps have whole seconds.
func (n *nonceSet) settle() {
	if n.refuse > 0 {
		time.Sleep(boundStep + time.Second + 100*time.Millisecond)
	}
}

// purgeBatch bounds the expired nonces one claim deletes, so no claim pays for a long backlog.
const purgeBatch = 64

var keyNoncesUntil = []byte("noncesuntil") // in bucketMeta: 8 bytes big-endian Unix ns, or absent

// nonceSet is the claimed nonces of the open file.
type nonceSet struct {
	mu      sync.Mutex
	exp     map[string]int64 // nonce -> expiry, Unix ns
	order   []claimed        // in claim order, for purging; an entry may be stale (the map decides)
	bound   int64            // the durable keyNoncesUntil: no expiry in exp is later
	refuse  int64            // after a crash, no claim expiring by this is answered
	stopped bool             // Close has taken the nonces
	persist func(bound int64) error
}

type claimed struct {
	exp   int64
	nonce string
}

// claim records nonce for ttl; false when it was claimed before and has not expired.
func (n *nonceSet) claim(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := time.Now().UnixNano()
	exp := now + int64(ttl)
	if exp <= n.refuse {
		return false, core.TemporarilyUnavailable("the embedded store", fmt.Errorf(
			"it restarted after a crash and answers no signed call timestamped before %s minus the allowed skew: it may replay a nonce the crash lost",
			time.Unix(0, n.refuse).UTC().Format(time.RFC3339)))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return false, bberrors.ErrDatabaseNotOpen
	}
	n.purge(now)
	if exp, ok := n.exp[nonce]; ok && exp > now {
		return false, nil
	}
	if exp > n.bound {
		// Durable before the claim is answered, so a crash cannot forget a nonce it answered.
		bound := exp + int64(boundStep)
		if err := n.persist(bound); err != nil {
			return false, err
		}
		n.bound = bound
	}
	n.exp[nonce] = exp
	n.order = append(n.order, claimed{exp, nonce})
	return true, nil
}

// purge drops a few nonces expired at now, oldest claims first.
func (n *nonceSet) purge(now int64) {
	i := 0
	for ; i < len(n.order) && i < purgeBatch && n.order[i].exp <= now; i++ {
		if c := n.order[i]; n.exp[c.nonce] == c.exp {
			delete(n.exp, c.nonce)
		}
	}
	clear(n.order[:i]) // let go of the strings as the slice moves past them
	n.order = n.order[i:]
}

// loadNonces reads the nonces a clean stop kept and the bound a crash left, and returns the set
// the file now stands for.
func loadNonces(tx *bbolt.Tx, persist func(int64) error) (*nonceSet, error) {
	n := &nonceSet{exp: map[string]int64{}, persist: persist}
	now := time.Now().UnixNano()
	if v := tx.Bucket(bucketMeta).Get(keyNoncesUntil); len(v) == 8 {
		n.refuse = int64(binary.BigEndian.Uint64(v))
		n.bound = n.refuse
	}
	err := tx.Bucket(bucketNonces).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("nonce entry of %d bytes", len(v))
		}
		if exp := int64(binary.BigEndian.Uint64(v)); exp > now {
			n.exp[string(k)] = exp
			n.order = append(n.order, claimed{exp, string(k)})
		}
		return nil
	})
	return n, err
}

// stop ends the claims (each one after it fails) and returns a save of the live nonces for Close
// to run in its own transaction: not under n.mu, which a claim holds while it writes the bound.
// It returns nil when stopped before.
func (n *nonceSet) stop() func(tx *bbolt.Tx) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil
	}
	live, refuse := n.exp, n.refuse
	n.exp, n.order, n.stopped = nil, nil, true
	return func(tx *bbolt.Tx) error { return saveNonces(tx, live, refuse) }
}

// saveNonces replaces the file's nonces with the live ones and clears the bound, unless a crash
// before this process left one that has not passed: what Close leaves.
func saveNonces(tx *bbolt.Tx, live map[string]int64, refuse int64) error {
	if err := tx.DeleteBucket(bucketNonces); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bucketNonces)
	if err != nil {
		return err
	}
	now := time.Now().UnixNano()
	for nonce, exp := range live {
		if exp <= now {
			continue
		}
		if err := b.Put([]byte(nonce), binary.BigEndian.AppendUint64(nil, uint64(exp))); err != nil {
			return err
		}
	}
	if refuse > now { // the nonces a crash lost are still live: the next process refuses too
		return setBound(tx, refuse)
	}
	return tx.Bucket(bucketMeta).Delete(keyNoncesUntil)
}

// putBound makes bound the durable keyNoncesUntil.
func putBound(db *bbolt.DB, bound int64) error {
	return db.Update(func(tx *bbolt.Tx) error { return setBound(tx, bound) })
}

func setBound(tx *bbolt.Tx, bound int64) error {
	return tx.Bucket(bucketMeta).Put(keyNoncesUntil, binary.BigEndian.AppendUint64(nil, uint64(bound)))
}

// ClaimNonce implements core.NonceStore, in memory (see nonceSet).
func (s *Store) ClaimNonce(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	return s.nonces.claim(ctx, nonce, ttl)
}
