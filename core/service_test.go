package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/adapters/store/bolt"
	"github.com/seed-4eefd85e/coffer/core"
)

// fakeClock is moved by tests instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var epoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	svc   *core.Service
	store core.Store
	clock *fakeClock
	root  core.RootKey
}

func newFixture(tb testing.TB, limits core.Limits) *fixture {
	tb.Helper()
	store, err := bolt.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	root, err := local.New(make([]byte, 32))
	if err != nil {
		tb.Fatal(err)
	}
	clock := &fakeClock{t: epoch}
	return &fixture{svc: core.NewService(store, root, clock, limits), store: store, clock: clock, root: root}
}

func (f *fixture) create(tb testing.TB, name, data string) *core.Secret {
	tb.Helper()
	s, err := f.svc.CreateSecret(context.Background(), core.CreateSecretInput{Name: name, VersionID: "v1", Data: []byte(data)})
	if err != nil {
		tb.Fatalf("CreateSecret(%s): %v", name, err)
	}
	return s
}

func (f *fixture) value(tb testing.TB, name, stage string) string {
	tb.Helper()
	v, err := f.svc.GetSecretValue(context.Background(), core.GetSecretValueInput{Name: name, Stage: stage})
	if err != nil {
		tb.Fatalf("GetSecretValue(%s, %s): %v", name, stage, err)
	}
	return string(v.Data)
}

// stagesOf renders the versions as "id:stage,stage id2:..." for compact assertions.
func stagesOf(tb testing.TB, f *fixture, name string) string {
	tb.Helper()
	s, err := f.store.GetSecret(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	var parts []string
	for _, v := range s.Versions {
		parts = append(parts, v.ID+":"+strings.Join(v.Stages, ","))
	}
	return strings.Join(parts, " ")
}

func wantKind(tb testing.TB, err error, kind core.Kind, field string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %v", kind)
	}
	if got := core.KindOf(err); got != kind {
		tb.Fatalf("got %v (%v), want %v", got, err, kind)
	}
	var ce *core.Error
	if field != "" && (!errors.As(err, &ce) || ce.Field != field) {
		tb.Fatalf("error %v names field %q, want %q", err, ce.Field, field)
	}
}

func TestCreateSecretRejectsBadInput(t *testing.T) {
	t.Parallel()
	ok := core.CreateSecretInput{Name: "app/db", VersionID: "v1", Data: []byte("pw")}
	long := strings.Repeat("a", 193)
	cases := []struct {
		name  string
		edit  func(*core.CreateSecretInput)
		kind  core.Kind
		field string
	}{
		{"missing name", func(in *core.CreateSecretInput) { in.Name = "" }, core.KindMissingParameter, "SecretName"},
		{"name too long", func(in *core.CreateSecretInput) { in.Name = long }, core.KindInvalidParameter, "SecretName"},
		{"name bad character", func(in *core.CreateSecretInput) { in.Name = "a b" }, core.KindInvalidParameter, "SecretName"},
		{"name reserved prefix", func(in *core.CreateSecretInput) { in.Name = "acs/x" }, core.KindInvalidParameter, "SecretName"},
		{"missing version", func(in *core.CreateSecretInput) { in.VersionID = "" }, core.KindMissingParameter, "VersionId"},
		{"version too long", func(in *core.CreateSecretInput) { in.VersionID = strings.Repeat("v", 65) }, core.KindInvalidParameter, "VersionId"},
		{"missing data", func(in *core.CreateSecretInput) { in.Data = nil }, core.KindMissingParameter, "SecretData"},
		{"data too large", func(in *core.CreateSecretInput) { in.Data = make([]byte, 65537) }, core.KindInvalidParameter, "SecretData"},
		{"bad data type", func(in *core.CreateSecretInput) { in.DataType = "json" }, core.KindInvalidParameter, "SecretDataType"},
		{"unknown type", func(in *core.CreateSecretInput) { in.Type = "Tair" }, core.KindInvalidParameter, "SecretType"},
		{"description too long", func(in *core.CreateSecretInput) { in.Description = strings.Repeat("d", 1025) }, core.KindInvalidParameter, "Description"},
		{"too many tags", func(in *core.CreateSecretInput) {
			for i := range 21 {
				in.Tags = append(in.Tags, core.Tag{Key: fmt.Sprint("k", i), Value: "v"})
			}
		}, core.KindInvalidParameter, "Tags"},
		{"tag key reserved", func(in *core.CreateSecretInput) { in.Tags = []core.Tag{{Key: "acs:x", Value: "v"}} }, core.KindInvalidParameter, "Tags"},
		{"tag key aliyun", func(in *core.CreateSecretInput) { in.Tags = []core.Tag{{Key: "aliyunx", Value: "v"}} }, core.KindInvalidParameter, "Tags"},
		{"tag key empty", func(in *core.CreateSecretInput) { in.Tags = []core.Tag{{Key: "", Value: "v"}} }, core.KindInvalidParameter, "Tags"},
		{"tag value too long", func(in *core.CreateSecretInput) { in.Tags = []core.Tag{{Key: "k", Value: strings.Repeat("v", 129)}} }, core.KindInvalidParameter, "Tags"},
		{"duplicate tag key", func(in *core.CreateSecretInput) { in.Tags = []core.Tag{{Key: "k"}, {Key: "k"}} }, core.KindInvalidParameter, "Tags"},
		{"extended config not JSON", func(in *core.CreateSecretInput) { in.ExtendedConfig = "{" }, core.KindInvalidParameter, "ExtendedConfig"},
		{"extended config too long", func(in *core.CreateSecretInput) { in.ExtendedConfig = `{"a":"` + strings.Repeat("x", 1024) + `"}` }, core.KindInvalidParameter, "ExtendedConfig"},
		{"rds without config", func(in *core.CreateSecretInput) { in.Type = core.TypeRds }, core.KindMissingParameter, "ExtendedConfig"},
		{"rds bad subtype", func(in *core.CreateSecretInput) {
			in.Type, in.ExtendedConfig = core.TypeRds, `{"SecretSubType":"Triple","DBInstanceId":"postgres://h/db"}`
		}, core.KindInvalidParameter, "ExtendedConfig"},
		{"rds binary", func(in *core.CreateSecretInput) {
			in.Type, in.DataType, in.ExtendedConfig = core.TypeRds, "binary", `{"SecretSubType":"SingleUser","DBInstanceId":"postgres://h/db"}`
		}, core.KindInvalidParameter, "SecretDataType"},
		{"ecs name prefix", func(in *core.CreateSecretInput) {
			in.Type, in.ExtendedConfig = core.TypeECS, `{"SecretSubType":"Password","InstanceId":"ssh://h:22"}`
		}, core.KindInvalidParameter, "SecretName"},
		{"rotation on generic", func(in *core.CreateSecretInput) { in.EnableRotation, in.RotationInterval = true, "7d" }, core.KindInvalidParameter, "EnableAutomaticRotation"},
		{"rotation interval too short", func(in *core.CreateSecretInput) {
			in.Type, in.Data, in.ExtendedConfig = core.TypeRds, []byte(`{}`), `{"SecretSubType":"SingleUser","DBInstanceId":"postgres://h/db"}`
			in.EnableRotation, in.RotationInterval = true, "5h"
		}, core.KindInvalidParameter, "RotationInterval"},
		{"rotation interval garbage", func(in *core.CreateSecretInput) {
			in.Type, in.Data, in.ExtendedConfig = core.TypeRds, []byte(`{}`), `{"SecretSubType":"SingleUser","DBInstanceId":"postgres://h/db"}`
			in.EnableRotation, in.RotationInterval = true, "7w"
		}, core.KindInvalidParameter, "RotationInterval"},
		{"policy not JSON", func(in *core.CreateSecretInput) { in.Policy = "allow" }, core.KindInvalidParameter, "Policy"},
		{"instance unknown", func(in *core.CreateSecretInput) { in.InstanceID = "kst-nope" }, core.KindNotFound, ""},
		{"instance without key", func(in *core.CreateSecretInput) { in.InstanceID = ""; in.EncryptionKeyID = "key-nope" }, core.KindNotFound, ""},
	}
	f := newFixture(t, core.Limits{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.edit(&in)
			_, err := f.svc.CreateSecret(context.Background(), in)
			wantKind(t, err, c.kind, c.field)
		})
	}
	page, err := f.svc.ListSecrets(context.Background(), core.ListSecretsInput{PageNumber: 1, PageSize: 10})
	if err != nil || page.Total != 0 {
		t.Fatalf("bad input stored something: %d secrets, %v", page.Total, err)
	}
}

func TestCreateAndRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	f.create(t, "app/db", "s3cret")
	if got := f.value(t, "app/db", ""); got != "s3cret" {
		t.Fatalf("value %q", got)
	}
	_, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "app/db", VersionID: "v1", Data: []byte("x")})
	wantKind(t, err, core.KindAlreadyExists, "")
	_, err = f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "nope"})
	wantKind(t, err, core.KindNotFound, "")
	_, err = f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "app/db", Stage: core.StagePrevious})
	wantKind(t, err, core.KindNotFound, "")
	v, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "app/db", VersionID: "v1"})
	if err != nil || string(v.Data) != "s3cret" || !v.Version.HasStage(core.StageCurrent) {
		t.Fatalf("by version: %+v %v", v, err)
	}
	// The shared pool's default key was created and protects the secret.
	s, _ := f.svc.DescribeSecret(ctx, "app/db")
	if s.EncryptionKeyID != core.DefaultKeyID {
		t.Fatalf("key %q", s.EncryptionKeyID)
	}
}

func TestPutSecretValueMovesStages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	f.create(t, "s", "one")
	put := func(id, data string, stages []string) error {
		_, err := f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: "s", VersionID: id, Data: []byte(data), Stages: stages})
		return err
	}
	steps := []struct {
		id, data string
		stages   []string
		want     string
	}{
		{"v2", "two", nil, "v1:ACSPrevious v2:ACSCurrent"},
		{"v3", "three", nil, "v1: v2:ACSPrevious v3:ACSCurrent"},
		{"v4", "four", []string{"ACSNext"}, "v1: v2:ACSPrevious v3:ACSCurrent v4:ACSNext"},
		{"v5", "five", []string{"ACSCurrent", "Blue"}, "v1: v2: v3:ACSPrevious v4:ACSNext v5:ACSCurrent,Blue"},
	}
	for _, s := range steps {
		if err := put(s.id, s.data, s.stages); err != nil {
			t.Fatalf("put %s: %v", s.id, err)
		}
		if got := stagesOf(t, f, "s"); got != s.want {
			t.Fatalf("after %s: %s, want %s", s.id, got, s.want)
		}
	}
	if f.value(t, "s", "") != "five" || f.value(t, "s", core.StagePrevious) != "three" || f.value(t, "s", "ACSNext") != "four" {
		t.Fatal("values do not follow the stages")
	}
	// Same id and data: success, nothing changes. Different data: conflict.
	if err := put("v2", "two", nil); err != nil {
		t.Fatalf("idempotent put: %v", err)
	}
	if got := stagesOf(t, f, "s"); !strings.HasSuffix(got, "v5:ACSCurrent,Blue") {
		t.Fatalf("idempotent put changed stages: %s", got)
	}
	wantKind(t, put("v2", "other", nil), core.KindAlreadyExists, "")
}

func TestUpdateSecretVersionStage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	f.create(t, "s", "one")
	for _, id := range []string{"v2", "v3"} {
		if _, err := f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: "s", VersionID: id, Data: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	upd := func(stage, from, to string) error {
		return f.svc.UpdateSecretVersionStage(ctx, core.UpdateSecretVersionStageInput{Name: "s", Stage: stage, RemoveFromVersion: from, MoveToVersion: to})
	}
	if err := upd("Blue", "", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := upd("Blue", "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	if got := stagesOf(t, f, "s"); got != "v1: v2:ACSPrevious,Blue v3:ACSCurrent" {
		t.Fatalf("after move: %s", got)
	}
	// Rolling ACSCurrent back gives the old current version ACSPrevious.
	if err := upd(core.StageCurrent, "v3", "v2"); err != nil {
		t.Fatal(err)
	}
	if got := stagesOf(t, f, "s"); got != "v1: v2:Blue,ACSCurrent v3:ACSPrevious" {
		t.Fatalf("after rollback: %s", got)
	}
	if err := upd("Blue", "v2", ""); err != nil {
		t.Fatal(err)
	}
	wantKind(t, upd(core.StageCurrent, "v2", ""), core.KindInvalidParameter, "MoveToVersion")
	wantKind(t, upd("Green", "v1", ""), core.KindInvalidParameter, "RemoveFromVersion")
	wantKind(t, upd("Green", "", "v9"), core.KindNotFound, "")
	wantKind(t, upd("Green", "", ""), core.KindInvalidParameter, "MoveToVersion")
	// At most 8 labels in all.
	for i := range 6 {
		if err := upd(fmt.Sprint("L", i), "", "v1"); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, upd("L6", "", "v1"), core.KindLimitExceeded, "")
}

func TestVersionLimitPrunesOldestUnlabelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{VersionLimit: 3})
	ctx := context.Background()
	f.create(t, "s", "one")
	if err := f.svc.UpdateSecretVersionStage(ctx, core.UpdateSecretVersionStageInput{Name: "s", Stage: "Keep", MoveToVersion: "v1"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"v2", "v3", "v4", "v5"} {
		if _, err := f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: "s", VersionID: id, Data: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	// v2 and v3 lost their labels and were pruned; v1 kept its custom label.
	if got := stagesOf(t, f, "s"); got != "v1:Keep v4:ACSPrevious v5:ACSCurrent" {
		t.Fatalf("versions: %s", got)
	}
	_, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "s", VersionID: "v2"})
	wantKind(t, err, core.KindNotFound, "")
	if _, sealed, _ := f.store.ReadVersion(ctx, "s", "v2", ""); sealed != nil {
		t.Fatal("the pruned value is still stored")
	}
	// Every version labelled and the limit reached: a further labelled version is refused and
	// nothing changes.
	_, err = f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: "s", VersionID: "v6", Data: []byte("6"), Stages: []string{"B"}})
	wantKind(t, err, core.KindLimitExceeded, "")
	if got := stagesOf(t, f, "s"); got != "v1:Keep v4:ACSPrevious v5:ACSCurrent" {
		t.Fatalf("a refused put changed the versions: %s", got)
	}
}

func TestDeleteWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	f.create(t, "s", "one")
	for _, days := range []int{6, 31} {
		_, err := f.svc.DeleteSecret(ctx, core.DeleteSecretInput{Name: "s", RecoveryWindowDays: days})
		wantKind(t, err, core.KindInvalidParameter, "RecoveryWindowInDays")
	}
	planned, err := f.svc.DeleteSecret(ctx, core.DeleteSecretInput{Name: "s", RecoveryWindowDays: 7})
	if err != nil || !planned.Equal(epoch.AddDate(0, 0, 7)) {
		t.Fatalf("planned %v, %v", planned, err)
	}
	_, err = f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "s"})
	wantKind(t, err, core.KindInDeleteWindow, "")
	_, err = f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: "s", VersionID: "v2", Data: []byte("x")})
	wantKind(t, err, core.KindInDeleteWindow, "")
	if s, err := f.svc.DescribeSecret(ctx, "s"); err != nil || s.PlannedDeleteTime.IsZero() {
		t.Fatalf("describe in window: %v", err)
	}
	if err := f.svc.RestoreSecret(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if f.value(t, "s", "") != "one" {
		t.Fatal("restored secret unreadable")
	}
	wantKind(t, f.svc.RestoreSecret(ctx, "s"), core.KindInvalidParameter, "SecretName")
	// Past the planned time the secret is gone even before a sweep purges it.
	if _, err := f.svc.DeleteSecret(ctx, core.DeleteSecretInput{Name: "s", RecoveryWindowDays: 7}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(epoch.AddDate(0, 0, 7))
	wantKind(t, f.svc.RestoreSecret(ctx, "s"), core.KindNotFound, "")
	page, _ := f.svc.ListSecrets(ctx, core.ListSecretsInput{PageNumber: 1, PageSize: 10})
	if len(page.Secrets) != 0 {
		t.Fatal("a secret past its deletion time is still listed")
	}
	// Forced deletion removes at once.
	f.create(t, "t", "x")
	if _, err := f.svc.DeleteSecret(ctx, core.DeleteSecretInput{Name: "t", Force: true}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.DescribeSecret(ctx, "t")
	wantKind(t, err, core.KindNotFound, "")
}

func TestInstanceExpiryBoundaries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	end := epoch.Add(24 * time.Hour)
	inst, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{Name: "prod", EndDate: end})
	if err != nil {
		t.Fatal(err)
	}
	key, err := f.svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: inst.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "in", VersionID: "v1", Data: []byte("x"), InstanceID: inst.ID}); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("a secret in an instance without a key: %v", err)
	}
	other, _ := f.svc.CreateKey(ctx, core.CreateKeyInput{})
	if _, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "in", VersionID: "v1", Data: []byte("x"), InstanceID: inst.ID, EncryptionKeyID: other.ID}); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("a key of another instance: %v", err)
	}
	if _, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "in", VersionID: "v1", Data: []byte("x"), InstanceID: inst.ID, EncryptionKeyID: key.ID}); err != nil {
		t.Fatal(err)
	}
	f.create(t, "pool", "p")
	read := func(name string) error {
		_, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: name})
		return err
	}
	f.clock.Set(end.Add(-time.Second))
	if err := read("in"); err != nil {
		t.Fatalf("one second before EndDate: %v", err)
	}
	f.clock.Set(end)
	wantKind(t, read("in"), core.KindUnavailable, "")
	if err := read("pool"); err != nil {
		t.Fatalf("the shared pool never expires: %v", err)
	}
	if !strings.Contains(read("in").Error(), "RenewKmsInstance") {
		t.Fatal("the message does not say how to renew")
	}
	f.clock.Set(end.Add(core.GracePeriod - time.Second))
	if _, err := f.svc.RenewKmsInstance(ctx, inst.ID, end.AddDate(1, 0, 0)); err != nil {
		t.Fatalf("renewal inside the grace period: %v", err)
	}
	if err := read("in"); err != nil {
		t.Fatalf("after renewal: %v", err)
	}
	// A second instance, past its grace, cannot be renewed.
	f.clock.Set(epoch)
	late, _ := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{EndDate: end})
	f.clock.Set(end.Add(core.GracePeriod))
	_, err = f.svc.RenewKmsInstance(ctx, late.ID, end.AddDate(2, 0, 0))
	wantKind(t, err, core.KindUnavailable, "")
	info, err := f.svc.GetKmsInstance(ctx, inst.ID)
	if err != nil || info.SecretNum != 1 || info.KeyNum != 1 || info.State != core.InstanceActive {
		t.Fatalf("instance info %+v %v", info, err)
	}
}

func TestListSecretsFiltersAndPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	for i := range 25 {
		in := core.CreateSecretInput{Name: fmt.Sprintf("app/%02d", i), VersionID: "v1", Data: []byte("x"), Description: fmt.Sprint("number ", i)}
		if i%5 == 0 {
			in.Tags = []core.Tag{{Key: "team", Value: "blue"}}
		}
		if _, err := f.svc.CreateSecret(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for p := 1; p <= 3; p++ {
		page, err := f.svc.ListSecrets(ctx, core.ListSecretsInput{PageNumber: p, PageSize: 10})
		if err != nil || page.Total != 25 {
			t.Fatalf("page %d: total %d, %v", p, page.Total, err)
		}
		for _, s := range page.Secrets {
			if seen[s.Name] {
				t.Fatalf("%s listed twice", s.Name)
			}
			seen[s.Name] = true
		}
	}
	if len(seen) != 25 {
		t.Fatalf("listed %d of 25", len(seen))
	}
	cases := []struct {
		filters []core.SecretFilter
		want    int
	}{
		{[]core.SecretFilter{{Key: "TagValue", Values: []string{"blue"}}}, 5},
		{[]core.SecretFilter{{Key: "SecretName", Values: []string{"app/1", "app/2"}}}, 15},
		{[]core.SecretFilter{{Key: "SecretName", Values: []string{"app/1"}}, {Key: "TagKey", Values: []string{"team"}}}, 2},
		{[]core.SecretFilter{{Key: "Description", Values: []string{"number 7"}}}, 1},
	}
	for _, c := range cases {
		page, err := f.svc.ListSecrets(ctx, core.ListSecretsInput{Filters: c.filters, PageNumber: 1, PageSize: 100})
		if err != nil || page.Total != c.want || len(page.Secrets) != c.want {
			t.Fatalf("%+v: total %d, %v", c.filters, page.Total, err)
		}
	}
	for _, bad := range []core.ListSecretsInput{
		{PageNumber: 1, PageSize: 0}, {PageNumber: 1, PageSize: 101}, {PageNumber: 0, PageSize: 10},
		{PageNumber: 1, PageSize: 10, Filters: []core.SecretFilter{{Key: "Color", Values: []string{"x"}}}},
	} {
		if _, err := f.svc.ListSecrets(ctx, bad); core.KindOf(err) != core.KindInvalidParameter {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}

func TestRandomPassword(t *testing.T) {
	t.Parallel()
	pw, err := core.RandomPassword(core.PasswordSpec{})
	if err != nil || len(pw) != 32 {
		t.Fatalf("default: %q %v", pw, err)
	}
	for range 50 {
		pw, err := core.RandomPassword(core.PasswordSpec{Length: 8, ExcludeCharacters: "abc", ExcludePunctuation: true, RequireEachIncludedType: true})
		if err != nil || len(pw) != 8 || strings.ContainsAny(pw, "abc!#$%") {
			t.Fatalf("%q %v", pw, err)
		}
		if !strings.ContainsAny(pw, "defghijklmnopqrstuvwxyz") || !strings.ContainsAny(pw, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !strings.ContainsAny(pw, "0123456789") {
			t.Fatalf("%q lacks a required type", pw)
		}
	}
	for _, bad := range []core.PasswordSpec{{Length: 7}, {Length: 129}, {ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true}} {
		if _, err := core.RandomPassword(bad); core.KindOf(err) != core.KindInvalidParameter {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	f.create(t, "s", "x")
	if err := f.svc.TagSecret(ctx, "s", []core.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.TagSecret(ctx, "s", []core.Tag{{Key: "b", Value: "3"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UntagSecret(ctx, "s", []string{"a", "missing"}); err != nil {
		t.Fatal(err)
	}
	s, _ := f.svc.DescribeSecret(ctx, "s")
	if len(s.Tags) != 1 || s.Tags[0] != (core.Tag{Key: "b", Value: "3"}) {
		t.Fatalf("tags %+v", s.Tags)
	}
	many := make([]core.Tag, 20)
	for i := range many {
		many[i] = core.Tag{Key: fmt.Sprint("k", i)}
	}
	wantKind(t, f.svc.TagSecret(ctx, "s", many), core.KindInvalidParameter, "Tags")
}

func TestAccessKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	nk, err := f.svc.CreateAccessKey(ctx, true, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.AccessKeySecret(ctx, nk.ID)
	if err != nil || string(got) != nk.Secret {
		t.Fatalf("secret round trip: %v", err)
	}
	keys, _ := f.svc.ListAccessKeys(ctx)
	if len(keys) != 1 || strings.Contains(string(keys[0].SealedSecret), nk.Secret) {
		t.Fatal("the access-key secret is stored in the clear")
	}
	if err := f.svc.EnsureAdminKey(ctx, "ADMINKEY01", "0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EnsureAdminKey(ctx, "ADMINKEY01", "fedcba9876543210"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.AccessKeySecret(ctx, "ADMINKEY01"); string(got) != "fedcba9876543210" {
		t.Fatal("re-seeding did not replace the secret")
	}
	_, err = f.svc.AccessKeySecret(ctx, "UNKNOWN")
	wantKind(t, err, core.KindNotFound, "")
}

func BenchmarkGetSecretValue(b *testing.B) {
	f := newFixture(b, core.Limits{})
	ctx := context.Background()
	value := strings.Repeat("x", 300)
	f.create(b, "bench", value)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}
