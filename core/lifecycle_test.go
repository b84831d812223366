package core_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	backuplocal "github.com/seed-4eefd85e/coffer/adapters/backup/local"
	"github.com/seed-4eefd85e/coffer/core"
)

const day = 24 * time.Hour

// events records what expiryCheck publishes.
type events struct {
	mu   sync.Mutex
	list []core.Event
	fail bool
}

func (e *events) Publish(_ context.Context, ev core.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail {
		return fmt.Errorf("receiver down")
	}
	e.list = append(e.list, ev)
	return nil
}

func (e *events) types() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		out = append(out, ev.Type+":"+ev.Lead)
	}
	return out
}

// lifecycleFixture is a service with a backup folder and an event recorder.
func lifecycleFixture(t *testing.T, l core.Lifecycle) (*fixture, *events, string) {
	t.Helper()
	f := newFixture(t, core.Limits{})
	dir := t.TempDir()
	sink, err := backuplocal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	l.Backups, l.Events = sink, ev
	f.svc.SetLifecycle(l)
	return f, ev, dir
}

// populate makes an instance with two keys and secrets with several versions, and returns every
// value by secret and version id.
func populate(t *testing.T, f *fixture, end time.Time) (*core.Instance, map[string]map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	inst, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{Name: "prod", EndDate: end})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]byte{}
	for k := range 2 {
		key, err := f.svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: inst.ID})
		if err != nil {
			t.Fatal(err)
		}
		for s := range 3 {
			name := fmt.Sprintf("app/k%d/s%d", k, s)
			want[name] = map[string][]byte{}
			for v := range 3 {
				data := []byte(fmt.Sprintf("value %s v%d \x00\xff", name, v))
				id := fmt.Sprintf("v%d", v)
				if v == 0 {
					_, err = f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: name, VersionID: id, Data: data, DataType: core.DataBinary, InstanceID: inst.ID, EncryptionKeyID: key.ID})
				} else {
					_, err = f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: name, VersionID: id, Data: data, DataType: core.DataBinary})
				}
				if err != nil {
					t.Fatal(err)
				}
				want[name][id] = data
			}
		}
	}
	return inst, want
}

// checkValues reads every version of every secret and compares it byte for byte.
func checkValues(t *testing.T, f *fixture, want map[string]map[string][]byte) {
	t.Helper()
	for name, versions := range want {
		for id, data := range versions {
			got, err := f.svc.GetSecretValue(context.Background(), core.GetSecretValueInput{Name: name, VersionID: id})
			if err != nil {
				t.Fatalf("%s %s: %v", name, id, err)
			}
			if !bytes.Equal(got.Data, data) {
				t.Fatalf("%s %s: got %q, want %q", name, id, got.Data, data)
			}
		}
	}
}

func TestReleaseNeedsBackupAndRestoreIsExact(t *testing.T) {
	ctx := context.Background()
	f, _, _ := lifecycleFixture(t, core.Lifecycle{})
	inst, want := populate(t, f, epoch.Add(30*day))
	sealed := map[string][]byte{}
	for name := range want {
		_, v, err := f.store.ReadVersion(ctx, name, "v1", "")
		if err != nil {
			t.Fatal(err)
		}
		sealed[name] = v
	}

	wantKind(t, f.svc.ReleaseKmsInstance(ctx, inst.ID, false), core.KindNoBackup, "")
	b, err := f.svc.CreateBackup(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.SecretNum != 6 || b.KeyNum != 2 {
		t.Fatalf("backup counts: %+v", b)
	}
	if err := f.svc.ReleaseKmsInstance(ctx, inst.ID, false); err != nil {
		t.Fatal(err)
	}
	// Released means gone: instance, keys, secrets, listing entries.
	if _, err := f.svc.GetKmsInstance(ctx, inst.ID); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("instance after release: %v", err)
	}
	if keys, _ := f.svc.ListKeys(ctx, inst.ID); len(keys) != 0 {
		t.Fatalf("keys after release: %d", len(keys))
	}
	if page, _ := f.svc.ListSecrets(ctx, core.ListSecretsInput{}); page.Total != 0 {
		t.Fatalf("secrets after release: %d", page.Total)
	}

	// Into a new instance: every value opened and sealed again for its new place.
	res, err := f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: b.ID, EndDate: epoch.Add(60 * day)})
	if err != nil {
		t.Fatal(err)
	}
	if res.InstanceID == inst.ID || res.SecretNum != 6 || res.KeyNum != 2 {
		t.Fatalf("restore: %+v", res)
	}
	checkValues(t, f, want)
	// A second restore of the same backup conflicts and changes nothing.
	_, err = f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: b.ID, EndDate: epoch.Add(60 * day)})
	wantKind(t, err, core.KindAlreadyExists, "")
	if insts, _ := f.svc.ListKmsInstances(ctx); len(insts) != 1 {
		t.Fatalf("a refused restore created an instance: %d", len(insts))
	}

	// Into the original instance id, once it is gone again: stored bytes come back unchanged.
	if err := f.svc.ReleaseKmsInstance(ctx, res.InstanceID, true); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: b.ID, InstanceID: inst.ID})
	wantKind(t, err, core.KindMissingParameter, "EndDate")
	res, err = f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: b.ID, InstanceID: inst.ID, EndDate: epoch.Add(60 * day)})
	if err != nil {
		t.Fatal(err)
	}
	if res.InstanceID != inst.ID {
		t.Fatalf("restored into %s, want %s", res.InstanceID, inst.ID)
	}
	checkValues(t, f, want)
	for name, v := range sealed {
		_, got, err := f.store.ReadVersion(ctx, name, "v1", "")
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("%s: the stored value changed on a same-instance restore (%v)", name, err)
		}
	}
}

func TestRestoreIntoInstanceWhoseKeysStillExist(t *testing.T) {
	ctx := context.Background()
	f, _, _ := lifecycleFixture(t, core.Lifecycle{})
	inst, want := populate(t, f, epoch.Add(30*day))
	b, err := f.svc.CreateBackup(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The secrets go away but the keys stay: the restored keys need new ids.
	for name := range want {
		if _, err := f.svc.DeleteSecret(ctx, core.DeleteSecretInput{Name: name, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: b.ID, InstanceID: inst.ID})
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := f.svc.ListKeys(ctx, inst.ID); len(keys) != 4 || res.KeyNum != 2 {
		t.Fatalf("keys: %d, restored %d", len(keys), res.KeyNum)
	}
	checkValues(t, f, want)
}

func TestDamagedBackupChangesNothing(t *testing.T) {
	ctx := context.Background()
	f, _, dir := lifecycleFixture(t, core.Lifecycle{})
	inst, want := populate(t, f, epoch.Add(30*day))
	b, err := f.svc.CreateBackup(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ReleaseKmsInstance(ctx, inst.ID, false); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, b.ID+".json")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The payload's middle holds sealed values: a flipped bit there is caught by the checksum.
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x01
	for name, file := range map[string][]byte{
		"truncated": good[:len(good)-10],
		"flipped":   flipped,
		"empty":     {},
		"not json":  []byte("PK\x03\x04"),
	} {
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: b.ID, EndDate: epoch.Add(60 * day)})
		if core.KindOf(err) != core.KindInvalidParameter {
			t.Fatalf("%s: got %v, want a refusal", name, err)
		}
		insts, _ := f.svc.ListKmsInstances(ctx)
		keys, _ := f.svc.ListKeys(ctx, "")
		page, _ := f.svc.ListSecrets(ctx, core.ListSecretsInput{})
		if len(insts)+len(keys)+page.Total != 0 {
			t.Fatalf("%s: a refused restore wrote %d instances, %d keys, %d secrets", name, len(insts), len(keys), page.Total)
		}
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: b.ID, EndDate: epoch.Add(60 * day)}); err != nil {
		t.Fatal(err)
	}
	checkValues(t, f, want)
}

func TestExpiryCheckWarnsOnceAndReleasesAfterGrace(t *testing.T) {
	ctx := context.Background()
	f, ev, _ := lifecycleFixture(t, core.Lifecycle{LeadTimes: core.DefaultLeadTimes, BackupBeforeRelease: true})
	end := epoch.Add(40 * day)
	inst, want := populate(t, f, end)
	pool := f.create(t, "pool/kept", "x") // the shared pool never expires

	run := func() *core.ExpiryReport {
		t.Helper()
		r, err := f.svc.ExpiryCheck(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %v", r.Errors)
		}
		return r
	}
	steps := []struct {
		at   time.Time
		want []string
	}{
		{end.Add(-31 * day), nil},
		{end.Add(-30 * day), []string{"instance.expiring:30d"}},
		{end.Add(-8 * day), []string{"instance.expiring:30d"}}, // sent once
		{end.Add(-7 * day), []string{"instance.expiring:30d", "instance.expiring:7d"}},
		{end.Add(-time.Second), []string{"instance.expiring:30d", "instance.expiring:7d", "instance.expiring:1d"}},
		{end, []string{"instance.expiring:30d", "instance.expiring:7d", "instance.expiring:1d", "instance.expired:"}},
		{end.Add(core.GracePeriod - time.Second), []string{"instance.expiring:30d", "instance.expiring:7d", "instance.expiring:1d", "instance.expired:"}},
	}
	for _, s := range steps {
		f.clock.Set(s.at)
		if r := run(); len(r.Released) != 0 {
			t.Fatalf("at %v released %v", s.at, r.Released)
		}
		if got := ev.types(); !slices.Equal(got, s.want) {
			t.Fatalf("at %v: events %v, want %v", s.at, got, s.want)
		}
	}
	f.clock.Set(end.Add(core.GracePeriod))
	r := run()
	if !slices.Equal(r.Released, []string{inst.ID}) {
		t.Fatalf("released %v", r.Released)
	}
	last := ev.list[len(ev.list)-1]
	if last.Type != core.EventReleased || last.BackupID == "" {
		t.Fatalf("last event %+v", last)
	}
	if r := run(); len(r.Released) != 0 || len(r.Events) != 0 {
		t.Fatalf("a second run did more: %+v", r)
	}
	if f.value(t, pool.Name, "") != "x" {
		t.Fatal("the shared pool was touched")
	}
	res, err := f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: last.BackupID, EndDate: f.clock.Now().Add(day)})
	if err != nil {
		t.Fatal(err)
	}
	if res.SecretNum != len(want) {
		t.Fatalf("restored %d secrets, want %d", res.SecretNum, len(want))
	}
	checkValues(t, f, want)
}

func TestExpiryCheckKeepsAnInstanceItCannotBackUp(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, core.Limits{})
	f.svc.SetLifecycle(core.Lifecycle{BackupBeforeRelease: true}) // no sink
	inst, _ := populate(t, f, epoch.Add(day))
	f.clock.Set(epoch.Add(day + core.GracePeriod))
	r, err := f.svc.ExpiryCheck(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Released) != 0 || len(r.Errors) != 1 {
		t.Fatalf("report %+v", r)
	}
	if _, err := f.store.GetRecord(ctx, core.RecordInstance, inst.ID); err != nil {
		t.Fatalf("the instance was removed without a backup: %v", err)
	}
}

func TestExpiryCheckPurgesInBoundedRuns(t *testing.T) {
	ctx := context.Background()
	f, _, _ := lifecycleFixture(t, core.Lifecycle{MaxWork: 2})
	for i := range 4 { // the purges use up the bound exactly, so the rotations need a further run
		name := fmt.Sprintf("gone/%d", i)
		f.create(t, name, "x")
		if _, err := f.svc.DeleteSecret(ctx, core.DeleteSecretInput{Name: name, RecoveryWindowDays: 7}); err != nil {
			t.Fatal(err)
		}
	}
	f.create(t, "kept", "x")
	// Two keys due for rotation come after the purges and share the same bound.
	inst, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{EndDate: epoch.Add(365 * day)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: inst.ID, RotationInterval: 7 * day}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Set(epoch.Add(7 * day))
	var purged, rotated []string
	for run := 0; ; run++ {
		r, err := f.svc.ExpiryCheck(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Purged)+len(r.Rotated) > 2 {
			t.Fatalf("run %d did %d items, bound is 2", run, len(r.Purged)+len(r.Rotated))
		}
		purged = append(purged, r.Purged...)
		rotated = append(rotated, r.Rotated...)
		if !r.More {
			break
		}
		if run > 6 {
			t.Fatal("the runs never finish")
		}
	}
	slices.Sort(purged)
	if !slices.Equal(purged, []string{"gone/0", "gone/1", "gone/2", "gone/3"}) {
		t.Fatalf("purged %v", purged)
	}
	if len(rotated) != 2 {
		t.Fatalf("rotated %v, want both keys", rotated)
	}
	if f.value(t, "kept", "") != "x" {
		t.Fatal("kept was purged")
	}
}

func TestExpiryCheckTakesTheLock(t *testing.T) {
	ctx := context.Background()
	f, _, _ := lifecycleFixture(t, core.Lifecycle{})
	if _, err := f.store.Acquire(ctx, "expirycheck", "other", time.Minute); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.ExpiryCheck(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r.Skipped == "" {
		t.Fatalf("ran while another run held the lock: %+v", r)
	}
}

func TestUnsentWarningIsRetried(t *testing.T) {
	ctx := context.Background()
	f, ev, _ := lifecycleFixture(t, core.Lifecycle{LeadTimes: []time.Duration{day}})
	populate(t, f, epoch.Add(time.Hour))
	ev.fail = true
	if r, _ := f.svc.ExpiryCheck(ctx, "test"); len(r.Errors) != 1 {
		t.Fatalf("report %+v", r)
	}
	ev.fail = false
	if _, err := f.svc.ExpiryCheck(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	if got := ev.types(); !slices.Equal(got, []string{"instance.expiring:1d"}) {
		t.Fatalf("events %v", got)
	}
}

func TestKeyStates(t *testing.T) {
	ctx := context.Background()
	f, _, _ := lifecycleFixture(t, core.Lifecycle{})
	inst, _ := populate(t, f, epoch.Add(30*day))
	keys, _ := f.svc.ListKeys(ctx, inst.ID)
	k := keys[0].ID
	sec, _ := f.store.GetSecret(ctx, "app/k0/s0")
	if sec.EncryptionKeyID != k {
		sec, _ = f.store.GetSecret(ctx, "app/k1/s0")
	}
	read := func() error {
		_, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: sec.Name})
		return err
	}

	if err := f.svc.DisableKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	wantKind(t, read(), core.KindKeyDisabled, "")
	if err := f.svc.EnableKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	for _, days := range []int{6, 367} {
		_, err := f.svc.ScheduleKeyDeletion(ctx, k, days)
		wantKind(t, err, core.KindInvalidParameter, "PendingWindowInDays")
	}
	got, err := f.svc.ScheduleKeyDeletion(ctx, k, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != core.KeyPendingDeletion || !got.DeleteDate.Equal(epoch.Add(7*day)) {
		t.Fatalf("scheduled key: %+v", got)
	}
	_, err = f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: sec.Name, VersionID: "new", Data: []byte("y")})
	wantKind(t, err, core.KindKeyPendingDeletion, "")
	_, err = f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "other", VersionID: "v1", Data: []byte("y"), InstanceID: inst.ID, EncryptionKeyID: k})
	wantKind(t, err, core.KindKeyPendingDeletion, "")
	wantKind(t, f.svc.EnableKey(ctx, k), core.KindKeyPendingDeletion, "")
	if err := f.svc.CancelKeyDeletion(ctx, k); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.svc.DescribeKey(ctx, k); d.State != core.KeyEnabled || !d.DeleteDate.IsZero() {
		t.Fatalf("after cancel: %+v", d)
	}
	wantKind(t, f.svc.CancelKeyDeletion(ctx, k), core.KindInvalidParameter, "KeyId")
	f.clock.Set(epoch.Add(30 * day))
	wantKind(t, f.svc.DisableKey(ctx, k), core.KindUnavailable, "")
}

func TestKeyRotationByInterval(t *testing.T) {
	ctx := context.Background()
	f, _, _ := lifecycleFixture(t, core.Lifecycle{})
	inst, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{EndDate: epoch.Add(365 * day)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: inst.ID, RotationInterval: 7 * day})
	if err != nil {
		t.Fatal(err)
	}
	old, err := f.svc.Encrypt(ctx, k.ID, []byte("before"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(epoch.Add(7*day - time.Second))
	if r, _ := f.svc.ExpiryCheck(ctx, "test"); len(r.Rotated) != 0 {
		t.Fatalf("rotated early: %v", r.Rotated)
	}
	f.clock.Set(epoch.Add(7 * day))
	if r, _ := f.svc.ExpiryCheck(ctx, "test"); !slices.Equal(r.Rotated, []string{k.ID}) {
		t.Fatalf("rotated %v", r.Rotated)
	}
	if r, _ := f.svc.ExpiryCheck(ctx, "test"); len(r.Rotated) != 0 {
		t.Fatalf("rotated twice: %v", r.Rotated)
	}
	d, _ := f.svc.DescribeKey(ctx, k.ID)
	if len(d.Versions) != 2 {
		t.Fatalf("versions: %d", len(d.Versions))
	}
	pt, from, err := f.svc.Decrypt(ctx, old.Blob, nil)
	if err != nil || string(pt) != "before" || from.KeyVersionID != old.KeyVersionID {
		t.Fatalf("old ciphertext after rotation: %q %v", pt, err)
	}
	ct, err := f.svc.Encrypt(ctx, k.ID, []byte("after"), nil)
	if err != nil || ct.KeyVersionID != d.Primary().ID || ct.KeyVersionID == old.KeyVersionID {
		t.Fatalf("new ciphertext under %v: %v", ct, err)
	}
}

func TestDataPlaneCrypto(t *testing.T) {
	ctx := context.Background()
	f, _, _ := lifecycleFixture(t, core.Lifecycle{})
	inst, _ := populate(t, f, epoch.Add(30*day))
	keys, _ := f.svc.ListKeys(ctx, inst.ID)
	k := keys[0].ID
	ec := map[string]string{"app": "billing"}
	ct, err := f.svc.Encrypt(ctx, k, []byte("hello"), ec)
	if err != nil {
		t.Fatal(err)
	}
	if pt, _, err := f.svc.Decrypt(ctx, ct.Blob, ec); err != nil || string(pt) != "hello" {
		t.Fatalf("decrypt: %q %v", pt, err)
	}
	_, _, err = f.svc.Decrypt(ctx, ct.Blob, map[string]string{"app": "other"})
	wantKind(t, err, core.KindInvalidParameter, "CiphertextBlob")
	_, _, err = f.svc.Decrypt(ctx, []byte("garbage"), nil)
	wantKind(t, err, core.KindInvalidParameter, "CiphertextBlob")
	_, err = f.svc.Encrypt(ctx, k, make([]byte, core.MaxEncryptPlaintext+1), nil)
	wantKind(t, err, core.KindInvalidParameter, "Plaintext")

	dk, dct, err := f.svc.GenerateDataKey(ctx, k, 32, nil)
	if err != nil || len(dk) != 32 {
		t.Fatalf("data key: %d bytes, %v", len(dk), err)
	}
	if pt, _, err := f.svc.Decrypt(ctx, dct.Blob, nil); err != nil || string(pt) != base64.StdEncoding.EncodeToString(dk) {
		t.Fatalf("data key round trip: %v", err)
	}
	_, _, err = f.svc.GenerateDataKey(ctx, k, 0, nil)
	wantKind(t, err, core.KindInvalidParameter, "NumberOfBytes")

	if err := f.svc.DisableKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.Decrypt(ctx, ct.Blob, ec)
	wantKind(t, err, core.KindKeyDisabled, "")
	if err := f.svc.EnableKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(epoch.Add(30 * day))
	_, _, err = f.svc.Decrypt(ctx, ct.Blob, ec)
	wantKind(t, err, core.KindUnavailable, "")
}

// BenchmarkBackupAndRestore backs up an instance of 100 secrets with 3 versions each and restores
// it into a new instance (every value opened and sealed again); bytes/op is the file size.
func BenchmarkBackupAndRestore(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, core.Limits{})
	sink, err := backuplocal.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	f.svc.SetLifecycle(core.Lifecycle{Backups: sink})
	inst, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{EndDate: epoch.Add(365 * day)})
	if err != nil {
		b.Fatal(err)
	}
	key, err := f.svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: inst.ID})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		name := fmt.Sprintf("bench/%03d", i)
		if _, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: name, VersionID: "v0", Data: bytes.Repeat([]byte("x"), 256), InstanceID: inst.ID, EncryptionKeyID: key.ID}); err != nil {
			b.Fatal(err)
		}
		for v := 1; v < 3; v++ {
			if _, err := f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: name, VersionID: fmt.Sprintf("v%d", v), Data: bytes.Repeat([]byte("y"), 256)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	var size int
	for b.Loop() {
		bk, err := f.svc.CreateBackup(ctx, inst.ID)
		if err != nil {
			b.Fatal(err)
		}
		size = bk.Size
		b.StopTimer()
		if err := f.svc.ReleaseKmsInstance(ctx, inst.ID, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := f.svc.RestoreBackup(ctx, core.RestoreBackupInput{BackupID: bk.ID, EndDate: epoch.Add(365 * day)})
		if err != nil {
			b.Fatal(err)
		}
		inst.ID = res.InstanceID
	}
	b.ReportMetric(float64(size), "file-bytes")
}
