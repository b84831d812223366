package core_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// An instance's CA is made once, is a CA, keeps its private key only wrapped, and is the same
// on every later call; an unknown instance has none.
func TestInstanceCA(t *testing.T) {
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	inst, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{EndDate: epoch.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := f.svc.InstanceCA(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Certificate.IsCA || ca.Certificate.KeyUsage&x509.KeyUsageCertSign == 0 || !ca.Certificate.NotAfter.After(inst.EndDate) {
		t.Fatalf("not a usable CA: %+v", ca.Certificate)
	}
	again, err := f.svc.InstanceCA(ctx, inst.ID)
	if err != nil || !again.Certificate.Equal(ca.Certificate) {
		t.Fatalf("a second call made another CA: %v", err)
	}
	doc, err := f.store.GetRecord(ctx, core.RecordInstance, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte(base64.StdEncoding.EncodeToString(der))) { // records hold bytes as base64
		t.Fatal("the instance record holds the CA key in the clear")
	}
	if _, err := f.svc.InstanceCA(ctx, "kst-unknown"); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("unknown instance: %v", err)
	}
}
