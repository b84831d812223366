package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// memKeys is an in-memory cloud of access keys, for the windowed engine path; the AWS IAM
// rotator is tested against a local server that checks the SDK's requests.
type memKeys struct {
	mu     sync.Mutex
	active map[string]string // id: secret
	n      int
	gone   bool
	admin  []byte
}

func (m *memKeys) NewValue(_ context.Context, t core.RotationTarget, _ []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.admin = t.Admin
	m.n++
	id := fmt.Sprint("AK", m.n)
	m.active[id] = fmt.Sprint("secret-", m.n)
	return json.Marshal(map[string]string{"AccessKeyId": id, "AccessKeySecret": m.active[id]})
}

func (m *memKeys) Apply(context.Context, core.RotationTarget, []byte, []byte) error { return nil }

func (m *memKeys) Test(_ context.Context, _ core.RotationTarget, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var k struct{ AccessKeyId, AccessKeySecret string }
	_ = json.Unmarshal(v, &k)
	if m.active[k.AccessKeyId] != k.AccessKeySecret {
		return errors.New("InvalidAccessKeyId")
	}
	return nil
}

func (m *memKeys) Revoke(_ context.Context, _ core.RotationTarget, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return fmt.Errorf("the user is gone: %w", core.ErrTargetGone)
	}
	var k struct{ AccessKeyId string }
	_ = json.Unmarshal(v, &k)
	delete(m.active, k.AccessKeyId)
	return nil
}

func (m *memKeys) live(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.active[id]
	return ok
}

func newKeysFixture(t *testing.T) (*fixture, *memKeys, *core.Rotation) {
	t.Helper()
	f := newFixture(t, core.Limits{})
	keys := &memKeys{active: map[string]string{"AK0": "secret-0"}}
	rot := core.NewRotation(f.svc, core.RotationOptions{Rotators: map[string]core.Rotator{"aws": keys}})
	ctx := context.Background()
	f.create(t, "admin-key", `{"AccessKeyId":"ADMIN","AccessKeySecret":"admin-secret"}`)
	by, err := f.svc.CreateAccessKey(ctx, true, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateSecret(ctx, core.CreateSecretInput{
		Name: "$Auto", VersionID: "v1", Type: core.TypeRAMCredentials, Data: []byte(`{"AccessKeys":[{"AccessKeyId":"AK0","AccessKeySecret":"secret-0"}]}`),
		ExtendedConfig: `{"SecretSubType":"RamUserAccessKey","UserName":"ci","CustomData":{"Provider":"aws","AdminSecretName":"admin-key"}}`,
		By:             core.Principal{ID: by.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, keys, rot
}

const ramSecret = "acs/ram/user/ci"

func currentKey(t *testing.T, f *fixture, stage string) string {
	t.Helper()
	var k struct{ AccessKeyId string }
	_ = json.Unmarshal([]byte(f.value(t, ramSecret, stage)), &k)
	return k.AccessKeyId
}

// A windowed rotation keeps the old key valid through the window, refuses another rotation
// meanwhile, and revokes the old key when the schedule runs after the window.
func TestRotationWindow(t *testing.T) {
	t.Parallel()
	f, keys, rot := newKeysFixture(t)
	ctx := context.Background()
	_, err := rot.RotateSecret(ctx, core.RotateSecretInput{Name: ramSecret, VersionID: "r1", Window: "5m"})
	wantKind(t, err, core.KindInvalidParameter, "RotationWindow")
	if _, err := rot.RotateSecret(ctx, core.RotateSecretInput{Name: ramSecret, VersionID: "r1", Window: "30m"}); err != nil {
		t.Fatal(err)
	}
	if string(keys.admin) != `{"AccessKeyId":"ADMIN","AccessKeySecret":"admin-secret"}` {
		t.Fatal("the rotator did not get the admin secret's value")
	}
	if currentKey(t, f, core.StageCurrent) != "AK1" || currentKey(t, f, core.StagePrevious) != "AK0" || !keys.live("AK0") || !keys.live("AK1") {
		t.Fatal("inside the window both keys must be live, the new one current")
	}
	sec, _ := f.svc.DescribeSecret(ctx, ramSecret)
	if st := sec.RotationState; st == nil || st.Step != core.StepRevoke || !st.WindowEnd.Equal(epoch.Add(30*time.Minute)) {
		t.Fatalf("state inside the window: %+v", st)
	}
	_, err = rot.RotateSecret(ctx, core.RotateSecretInput{Name: ramSecret, VersionID: "r2"})
	wantKind(t, err, core.KindRotating, "")
	if rep, _ := rot.RotateDue(ctx, 10); len(rep.Rotated) != 0 || !keys.live("AK0") {
		t.Fatalf("revoked before the window ended: %+v", rep)
	}
	f.clock.Set(epoch.Add(30 * time.Minute))
	if rep, err := rot.RotateDue(ctx, 10); err != nil || len(rep.Rotated) != 1 {
		t.Fatalf("the window did not close: %+v %v", rep, err)
	}
	sec, _ = f.svc.DescribeSecret(ctx, ramSecret)
	if keys.live("AK0") || !keys.live("AK1") || sec.RotationState != nil {
		t.Fatalf("after the window: old live %v, state %+v", keys.live("AK0"), sec.RotationState)
	}
	// Scheduled rotations take the default two-day window.
	if _, err := rot.RotateSecret(ctx, core.RotateSecretInput{Name: ramSecret, VersionID: "r3"}); err != nil {
		t.Fatal(err)
	}
	sec, _ = f.svc.DescribeSecret(ctx, ramSecret)
	if !sec.RotationState.WindowEnd.Equal(epoch.Add(30*time.Minute + 48*time.Hour)) {
		t.Fatalf("default window end %v", sec.RotationState.WindowEnd)
	}
}

// A windowed rotation whose user vanished is marked failed with its cause, not retried forever.
func TestRotationTargetGone(t *testing.T) {
	t.Parallel()
	f, keys, rot := newKeysFixture(t)
	ctx := context.Background()
	if _, err := rot.RotateSecret(ctx, core.RotateSecretInput{Name: ramSecret, VersionID: "r1", Window: "600s"}); err != nil {
		t.Fatal(err)
	}
	keys.gone = true
	f.clock.Set(epoch.Add(10 * time.Minute))
	rep, _ := rot.RotateDue(ctx, 10)
	if len(rep.Failed) != 1 {
		t.Fatalf("report %+v", rep)
	}
	sec, _ := f.svc.DescribeSecret(ctx, ramSecret)
	if st := sec.RotationState; st == nil || !st.Failed || st.LastError != "revoke: the user is gone: "+core.ErrTargetGone.Error() {
		t.Fatalf("state %+v", st)
	}
	// Rds rotations take no window.
	rds := newRotFixture(t, "SingleUser", "app")
	_, err := rds.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2", Window: "1h"})
	wantKind(t, err, core.KindInvalidParameter, "RotationWindow")
}
