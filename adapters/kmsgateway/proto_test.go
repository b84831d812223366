package kmsgateway

import (
	"bytes"
	"testing"

	"github.com/aliyun/alibabacloud-dkms-gcs-go-sdk/openapi-util/protobuf/api"
	"google.golang.org/protobuf/proto"
)

// The SDK's own generated types are the oracle for the hand-coded messages.

func TestDecodeRequests(t *testing.T) {
	cases := []struct {
		action string
		msg    proto.Message
		want   request
	}{
		{"GetSecretValue", &api.GetSecretValueRequest{SecretName: "app/db", VersionStage: "ACSPrevious", VersionId: "v1", FetchExtendedConfig: true},
			request{SecretName: "app/db", VersionStage: "ACSPrevious", VersionID: "v1", FetchExtendedConfig: true}},
		{"Encrypt", &api.EncryptRequest{KeyId: "key-1", Plaintext: []byte("pt"), Algorithm: "AES_GCM", Aad: []byte("a"), Iv: []byte("i"), PaddingMode: "p"},
			request{KeyID: "key-1", Plaintext: []byte("pt"), Algorithm: "AES_GCM", Aad: []byte("a"), Iv: []byte("i"), PaddingMode: "p"}},
		{"Decrypt", &api.DecryptRequest{CiphertextBlob: []byte("ct"), KeyId: "key-1", Aad: []byte("a")},
			request{CiphertextBlob: []byte("ct"), KeyID: "key-1", Aad: []byte("a")}},
		{"GenerateDataKey", &api.GenerateDataKeyRequest{KeyId: "key-1", NumberOfBytes: 64, Aad: []byte("a")},
			request{KeyID: "key-1", NumberOfBytes: 64, Aad: []byte("a")}},
		{"GenerateRandom", &api.GenerateRandomRequest{Length: 24}, request{Length: 24}},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			b, err := proto.Marshal(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := schemas[c.action].decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(*got, c.want) {
				t.Fatalf("got %+v, want %+v", *got, c.want)
			}
		})
	}
}

func equal(a, b request) bool {
	return a.SecretName == b.SecretName && a.VersionStage == b.VersionStage && a.VersionID == b.VersionID &&
		a.FetchExtendedConfig == b.FetchExtendedConfig && a.KeyID == b.KeyID && a.Algorithm == b.Algorithm &&
		a.PaddingMode == b.PaddingMode && bytes.Equal(a.Plaintext, b.Plaintext) && bytes.Equal(a.CiphertextBlob, b.CiphertextBlob) &&
		bytes.Equal(a.Aad, b.Aad) && bytes.Equal(a.Iv, b.Iv) && a.NumberOfBytes == b.NumberOfBytes && a.Length == b.Length
}

// A string sent where the message has a number, or a truncated message, is refused.
func TestDecodeRefusesMalformed(t *testing.T) {
	good, _ := proto.Marshal(&api.GetSecretValueRequest{SecretName: "app/db"})
	wrongType, _ := proto.Marshal(&api.EncryptRequest{KeyId: "x"}) // field 1 as bytes
	for name, c := range map[string]struct {
		action string
		body   []byte
	}{
		"truncated":  {"GetSecretValue", good[:len(good)-1]},
		"wrong type": {"GenerateRandom", wrongType},
		"bad tag":    {"GetSecretValue", []byte{0xff}},
	} {
		if _, err := schemas[c.action].decode(c.body); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestEncodeMessages(t *testing.T) {
	var e api.Error
	if err := proto.Unmarshal(errorMessage(403, "Forbidden.NoPermission", "no", "R1"), &e); err != nil ||
		e.StatusCode != 403 || e.ErrorCode != "Forbidden.NoPermission" || e.ErrorMessage != "no" || e.RequestId != "R1" {
		t.Fatalf("Error = %+v, %v", &e, err)
	}
	var v api.GetSecretValueResponse
	m := message(nil).str(1, "app/db").str(3, "pw").str(5, "ACSCurrent").str(5, "ACSPrevious").str(8, "R2")
	if err := proto.Unmarshal(m, &v); err != nil || v.SecretName != "app/db" || v.SecretData != "pw" || len(v.VersionStages) != 2 || v.VersionStages[1] != "ACSPrevious" || v.RequestId != "R2" {
		t.Fatalf("GetSecretValueResponse = %+v, %v", &v, err)
	}
	var g api.GenerateDataKeyResponse
	if err := proto.Unmarshal(message(nil).str(1, "key-1").bytes(3, []byte{1, 2}).bytes(4, []byte{3}), &g); err != nil || g.KeyId != "key-1" || !bytes.Equal(g.Plaintext, []byte{1, 2}) {
		t.Fatalf("GenerateDataKeyResponse = %+v, %v", &g, err)
	}
}

// FuzzDecode: no body makes the decoder panic, and what decodes re-encodes to what the SDK's
// types read the same way.
func FuzzDecode(f *testing.F) {
	for _, m := range []proto.Message{
		&api.GetSecretValueRequest{SecretName: "app/db", FetchExtendedConfig: true},
		&api.EncryptRequest{KeyId: "k", Plaintext: []byte("p")},
		&api.GenerateDataKeyRequest{NumberOfBytes: -1},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, s := range schemas {
			_, _ = s.decode(body)
		}
		got, err := schemas["GetSecretValue"].decode(body)
		var want api.GetSecretValueRequest
		if err == nil && proto.Unmarshal(body, &want) == nil && (got.SecretName != want.SecretName || got.VersionID != want.VersionId) {
			t.Fatalf("decoded %+v, the SDK reads %+v", got, &want)
		}
	})
}
