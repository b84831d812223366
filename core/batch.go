package core

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// MaxBatchSecrets bounds the secrets one BatchGetSecretValue call reads.
const MaxBatchSecrets = 20

// ErrNonceUsed is what ReadSecretValues returns for a request whose nonce was claimed before.
var ErrNonceUsed = errors.New("the signature nonce was used already")

// SignedRead is an authenticated read call whose nonce is not claimed yet: ReadSecretValues
// claims it in the same store round trip as the reads.
type SignedRead struct {
	CallerID   string     // the access key or client key that signed the call
	Permission string     // what each secret is authorized for, e.g. kms:GetSecretValue
	SourceIP   netip.Addr // the caller's address; invalid when unknown
	Nonce      string     // the nonce as the verifier scopes it to the caller
	NonceTTL   time.Duration
}

// ValueResult is one secret of a read: its value or why it failed. Value.Secret may be shared
// with other reads (VersionFound): it is read, never changed.
type ValueResult struct {
	Value *SecretValue
	Err   error
}

// ReadSecretValues serves signed GetSecretValue and BatchGetSecretValue calls on the hot path:
// one store round trip claims the nonce and reads every secret (ClaimAndRead), then each secret
// is authorized on the metadata that read returned, by the decision Authorize reaches, and
// decrypted. Nothing is returned unless the nonce was fresh; each secret fails on its own.
func (s *Service) ReadSecretValues(ctx context.Context, call SignedRead, ins []GetSecretValueInput) ([]ValueResult, error) {
	if len(ins) > MaxBatchSecrets {
		return nil, Invalid("SecretNames", "at most %d names", MaxBatchSecrets)
	}
	results := make([]ValueResult, len(ins))
	reads := make([]VersionRead, 0, len(ins))
	readOf := make([]int, len(ins)) // index into reads, -1 for an input that did not validate
	for i, in := range ins {
		r, err := in.read()
		readOf[i] = -1
		if err != nil {
			results[i].Err = err
			continue
		}
		readOf[i] = len(reads)
		reads = append(reads, r)
	}
	fresh, found, err := s.store.ClaimAndRead(ctx, call.Nonce, call.NonceTTL, reads)
	if err != nil {
		return nil, storeErr(err)
	}
	if !fresh {
		return nil, ErrNonceUsed
	}
	c, err := s.caller(ctx, call.CallerID, call.SourceIP)
	if err != nil {
		return nil, err
	}
	for i, in := range ins {
		j := readOf[i]
		if j < 0 { // refused before authorization, as a single GetSecretValue is
			continue
		}
		if found[j].Err != nil && !errors.Is(found[j].Err, ErrNotFound) {
			results[i].Err = storeErr(found[j].Err) // an outage, not an answer about the secret
			continue
		}
		// The same decision Authorize reaches, on the metadata this read returned; a missing
		// secret reads as one of unknown instance, so a denial does not tell whether it exists.
		r := resource{name: "secret/" + in.Name}
		if sec := found[j].Secret; found[j].Err == nil {
			r.instance, r.known, r.policy = sec.InstanceID, true, policyOf(sec)
		}
		if !decide(c, call.Permission, r) {
			results[i].Err = errDenied()
			continue
		}
		results[i].Value, results[i].Err = s.valueOf(ctx, in, reads[j], found[j])
	}
	return results, nil
}
