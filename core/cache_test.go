package core_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/adapters/store/bolt"
	"github.com/seed-4eefd85e/coffer/core"
)

// countingStore counts the GetRecord calls that reach the real store.
type countingStore struct {
	core.Store
	gets int
}

func (c *countingStore) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	c.gets++
	return c.Store.GetRecord(ctx, kind, id)
}

func TestCacheRecords(t *testing.T) {
	ctx := context.Background()
	b, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	inner := &countingStore{Store: b}
	st := core.CacheRecords(inner, 50*time.Millisecond, core.RecordKey)
	if err := st.CreateRecord(ctx, core.RecordKey, "k1", []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if doc, err := st.GetRecord(ctx, core.RecordKey, "k1"); err != nil || string(doc) != `{"v":1}` {
			t.Fatalf("get: %s %v", doc, err)
		}
	}
	if inner.gets != 1 {
		t.Fatalf("%d reads reached the store, want 1", inner.gets)
	}
	// A write through the cache is seen at once.
	if err := st.UpdateRecord(ctx, core.RecordKey, "k1", func([]byte) ([]byte, error) { return []byte(`{"v":2}`), nil }); err != nil {
		t.Fatal(err)
	}
	if doc, _ := st.GetRecord(ctx, core.RecordKey, "k1"); string(doc) != `{"v":2}` {
		t.Fatalf("after update: %s", doc)
	}
	// A write by another process (straight to the store) is seen once the entry expires.
	if err := b.UpdateRecord(ctx, core.RecordKey, "k1", func([]byte) ([]byte, error) { return []byte(`{"v":3}`), nil }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		doc, _ := st.GetRecord(ctx, core.RecordKey, "k1")
		if string(doc) == `{"v":3}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache never expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Kinds not named are never cached, and misses are not remembered.
	if err := st.CreateRecord(ctx, core.RecordInstance, "i1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	before := inner.gets
	st.GetRecord(ctx, core.RecordInstance, "i1")
	st.GetRecord(ctx, core.RecordInstance, "i1")
	if inner.gets != before+2 {
		t.Fatal("an uncached kind was cached")
	}
	if _, err := st.GetRecord(ctx, core.RecordKey, "missing"); err == nil {
		t.Fatal("a missing record was found")
	}
	if err := st.CreateRecord(ctx, core.RecordKey, "missing", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRecord(ctx, core.RecordKey, "missing"); err != nil {
		t.Fatal("a miss was cached")
	}
	if err := st.DeleteRecord(ctx, core.RecordKey, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRecord(ctx, core.RecordKey, "k1"); err == nil {
		t.Fatal("a deleted record is still served")
	}
}

// outageStore answers every GetRecord as a store whose node is down, once down is set.
type outageStore struct {
	core.Store
	down bool
}

func (o *outageStore) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	if o.down {
		return nil, core.TemporarilyUnavailable("redis store", context.DeadlineExceeded)
	}
	return o.Store.GetRecord(ctx, kind, id)
}

// TestCacheRecordsOutage: while the store cannot be reached, an expired entry keeps serving (a
// Cluster failover costs no call its records), but a record never read is not invented, and an
// answer from the store (a deletion) wins at once.
func TestCacheRecordsOutage(t *testing.T) {
	ctx := context.Background()
	b, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	inner := &outageStore{Store: b}
	st := core.CacheRecords(inner, time.Nanosecond, core.RecordKey)
	if err := b.CreateRecord(ctx, core.RecordKey, "k1", []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRecord(ctx, core.RecordKey, "k1"); err != nil {
		t.Fatal(err)
	}
	inner.down = true
	if doc, err := st.GetRecord(ctx, core.RecordKey, "k1"); err != nil || string(doc) != `{"v":1}` {
		t.Fatalf("during an outage: %s, %v; want the cached record", doc, err)
	}
	if _, err := st.GetRecord(ctx, core.RecordKey, "k2"); core.KindOf(err) != core.KindUnavailableTemporary {
		t.Fatalf("an uncached record during an outage: err = %v; want temporarily unavailable", err)
	}
	inner.down = false
	if err := b.DeleteRecord(ctx, core.RecordKey, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRecord(ctx, core.RecordKey, "k1"); err == nil {
		t.Fatal("a deleted record was served after the outage")
	}
}

// TestCachedRecordsRevocation: with the read path's records cached decoded, disabling or
// deleting an access key or a KMS key is refused at once by the process that made the change
// and, in another process (here a second service on the same store), once the ttl has passed.
func TestCachedRecordsRevocation(t *testing.T) {
	t.Parallel()
	const ttl = 50 * time.Millisecond
	secretRefused := func(reader *core.Service, _ string) error {
		_, err := reader.GetSecretValue(context.Background(), core.GetSecretValueInput{Name: "db"})
		if core.KindOf(err) != core.KindKeyDisabled && core.KindOf(err) != core.KindNotFound {
			return fmt.Errorf("GetSecretValue: %v, want the key refused", err)
		}
		return nil
	}
	accessKeyRefused := func(reader *core.Service, id string) error {
		if _, err := reader.AccessKeySecret(context.Background(), id); err == nil {
			return errors.New("AccessKeySecret served a revoked key")
		}
		if _, err := reader.View(context.Background(), core.AccessRequest{CallerID: id, Permission: "kms:ListSecrets"}); core.KindOf(err) != core.KindNoPermission {
			return fmt.Errorf("View: %v, want a denial", err)
		}
		return nil
	}
	cases := []struct {
		name    string
		revoke  func(ctx context.Context, svc *core.Service, accessKey, key string) error
		refused func(reader *core.Service, accessKey string) error
	}{
		{"disabled access key", func(ctx context.Context, svc *core.Service, ak, _ string) error {
			return svc.SetAccessKeyDisabled(ctx, ak, "", true)
		}, accessKeyRefused},
		{"deleted access key", func(ctx context.Context, svc *core.Service, ak, _ string) error {
			return svc.DeleteAccessKey(ctx, ak, "")
		}, accessKeyRefused},
		{"disabled KMS key", func(ctx context.Context, svc *core.Service, _, key string) error {
			return svc.DisableKey(ctx, key)
		}, secretRefused},
	}
	for _, c := range cases {
		for _, elsewhere := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/elsewhere=%v", c.name, elsewhere), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				b, err := bolt.Open(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				root, err := local.New(make([]byte, 32))
				if err != nil {
					t.Fatal(err)
				}
				kinds := []string{core.RecordAccessKey, core.RecordKey, core.RecordInstance}
				reader := core.NewService(core.CacheRecords(b, ttl, kinds...), root, core.SystemClock{}, core.Limits{})
				writer := reader
				if elsewhere {
					writer = core.NewService(core.CacheRecords(b, ttl, kinds...), root, core.SystemClock{}, core.Limits{})
				}
				ak, err := writer.CreateAccessKey(ctx, false, "")
				if err != nil {
					t.Fatal(err)
				}
				key, err := writer.CreateKey(ctx, core.CreateKeyInput{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := writer.CreateSecret(ctx, core.CreateSecretInput{Name: "db", VersionID: "v1", Data: []byte("pw"), EncryptionKeyID: key.ID}); err != nil {
					t.Fatal(err)
				}
				// Warm the reader's cache with every record the read path decodes.
				if _, err := reader.AccessKeySecret(ctx, ak.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := reader.GetSecretValue(ctx, core.GetSecretValueInput{Name: "db"}); err != nil {
					t.Fatal(err)
				}
				if err := c.revoke(ctx, writer, ak.ID, key.ID); err != nil {
					t.Fatal(err)
				}
				if !elsewhere {
					if err := c.refused(reader, ak.ID); err != nil {
						t.Fatalf("right after the change: %v", err)
					}
					return
				}
				deadline := time.Now().Add(5 * time.Second)
				for err := c.refused(reader, ak.ID); err != nil; err = c.refused(reader, ak.ID) {
					if time.Now().After(deadline) {
						t.Fatalf("long after the ttl: %v", err)
					}
					time.Sleep(ttl / 5)
				}
			})
		}
	}
}
