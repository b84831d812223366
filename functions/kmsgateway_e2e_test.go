package functions_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
	dkmsopenapi "github.com/aliyun/alibabacloud-dkms-gcs-go-sdk/openapi"
	"github.com/aliyun/alibabacloud-dkms-gcs-go-sdk/openapi-util/protobuf/api"
	dkms "github.com/aliyun/alibabacloud-dkms-gcs-go-sdk/sdk"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk/service"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"software.sslmate.com/src/go-pkcs12"
)

// gateway is a server set up for the KMS instance gateway: an instance with a key, secrets, and
// access points whose client keys the tests sign with.
type gateway struct {
	s      *server
	admin  *kms.Client // over plain HTTP, on the same handler
	inst   string
	keyID  string
	ca     string // the instance's CaCertificateChainPem
	reader clientKey
	far    clientKey // an access point whose network rule excludes loopback
}

type clientKey struct {
	id, content, password string
	priv                  *rsa.PrivateKey
}

func startGateway(t testing.TB, b backend) *gateway {
	t.Helper()
	s := b.start(t, map[string]string{"COFFER_TLS_SELF_SIGNED": "1"})
	plain := httptest.NewServer(s.emu.Handler())
	t.Cleanup(plain.Close)
	g := &gateway{s: s, admin: sdkClient(t, adminID, adminSecret, strings.TrimPrefix(plain.URL, "http://"), "")}
	c := g.admin
	end := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02T15:04:05Z")
	g.inst, _ = ok(call(c, "CreateKmsInstance", map[string]string{"EndDate": end})).must(t)["KmsInstanceId"].(string)
	g.keyID = tea.StringValue(ok(c.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(g.inst)})).must(t).Body.KeyMetadata.KeyId)
	for name, value := range map[string]string{"app/db": "db-password", "app/other": "other"} {
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(value),
			DKMSInstanceId: tea.String(g.inst), EncryptionKeyId: tea.String(g.keyID)})).must(t)
	}
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("pool/x"), VersionId: tea.String("v1"), SecretData: tea.String("in the pool")})).must(t)
	inst := ok(c.GetKmsInstance(&kms.GetKmsInstanceRequest{KmsInstanceId: tea.String(g.inst)})).must(t).Body.KmsInstance
	g.ca = tea.StringValue(inst.CaCertificateChainPem)
	if !strings.HasPrefix(g.ca, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("GetKmsInstance has no CaCertificateChainPem: %+v", inst)
	}
	ok(c.CreateNetworkRule(&kms.CreateNetworkRuleRequest{Name: tea.String("loopback"), Type: tea.String("Private"), SourcePrivateIp: tea.String(`["127.0.0.1","::1/128"]`)})).must(t)
	ok(c.CreateNetworkRule(&kms.CreateNetworkRuleRequest{Name: tea.String("elsewhere"), Type: tea.String("Private"), SourcePrivateIp: tea.String(`["10.9.9.0/24"]`)})).must(t)
	policy := func(name, template, resources, rule string) {
		ok(c.CreatePolicy(&kms.CreatePolicyRequest{
			Name: tea.String(name), Permissions: tea.String(`["RbacPermission/Template/` + template + `"]`), Resources: tea.String(resources),
			AccessControlRules: tea.String(`{"NetworkRules":["` + rule + `"]}`), KmsInstance: tea.String(g.inst),
		})).must(t)
	}
	policy("readDb", "SecretUser", `["secret/app/db"]`, "loopback")
	ok(c.CreatePolicy(&kms.CreatePolicyRequest{
		Name: tea.String("useKeys"), Permissions: tea.String(`["RbacPermission/Template/CryptoServiceKeyUser"]`), Resources: tea.String(`["*"]`),
		AccessControlRules: tea.String(`{"NetworkRules":["loopback"]}`),
	})).must(t)
	policy("readDbFar", "SecretUser", `["secret/app/db"]`, "elsewhere")
	ok(c.CreatePolicy(&kms.CreatePolicyRequest{
		Name: tea.String("readPool"), Permissions: tea.String(`["RbacPermission/Template/SecretUser"]`), Resources: tea.String(`["secret/pool/*"]`),
		AccessControlRules: tea.String(`{"NetworkRules":["loopback"]}`), KmsInstance: tea.String("shared"),
	})).must(t)
	g.reader = newClientKey(t, c, "app", `["readDb","useKeys","readPool"]`)
	g.far = newClientKey(t, c, "far", `["readDbFar"]`)
	return g
}

// newClientKey makes an access point with policies and a client key for it, as Alibaba's console
// hands it out.
func newClientKey(t testing.TB, c *kms.Client, ap, policies string) clientKey {
	t.Helper()
	ok(c.CreateApplicationAccessPoint(&kms.CreateApplicationAccessPointRequest{Name: tea.String(ap), AuthenticationMethod: tea.String("ClientKey"), Policies: tea.String(policies)})).must(t)
	const password = "Pkcs12-Passw0rd"
	ck := ok(c.CreateClientKey(&kms.CreateClientKeyRequest{AapName: tea.String(ap), Password: tea.String(password)})).must(t).Body
	der, _ := base64.StdEncoding.DecodeString(tea.StringValue(ck.PrivateKeyData))
	priv, _, _, err := pkcs12.DecodeChain(der, password)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]string{"KeyId": tea.StringValue(ck.ClientKeyId), "PrivateKeyData": tea.StringValue(ck.PrivateKeyData)})
	return clientKey{id: tea.StringValue(ck.ClientKeyId), content: string(doc), password: password, priv: priv.(*rsa.PrivateKey)}
}

// connectProxy is an HTTPS proxy that takes every CONNECT to target, so that a client can call
// the instance endpoint by its name (and send it by SNI) without a DNS entry.
func connectProxy(t *testing.T, target string) string {
	t.Helper()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, conn); up.Close() }()
		_, _ = io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(p.Close)
	return p.URL
}

// sdk returns the KMS Instance SDK client for k: verifying the instance CA on the instance
// endpoint's name (through connectProxy), or ignoring TLS on the listener's address.
func (g *gateway) sdk(t *testing.T, k clientKey, verify bool) *dkms.Client {
	t.Helper()
	cfg := &dkmsopenapi.Config{
		Protocol: tea.String("https"), ClientKeyContent: tea.String(k.content), Password: tea.String(k.password),
		Endpoint: tea.String(g.s.host), IgnoreSSL: tea.Bool(true),
	}
	if verify {
		_, port, _ := net.SplitHostPort(g.s.host)
		cfg.Endpoint = tea.String(g.inst + ".cryptoservice.kms.test:" + port)
		cfg.IgnoreSSL, cfg.Ca = nil, tea.String(g.ca)
		cfg.HttpsProxy = tea.String(connectProxy(t, g.s.host))
	}
	c, err := dkms.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestKMSInstanceSDK reads a secret and uses a key through the KMS Instance SDK, verifying the
// instance CA and ignoring TLS.
func TestKMSInstanceSDK(t *testing.T) { forEachBackend(t, testKMSInstanceSDK) }

func testKMSInstanceSDK(t *testing.T, b backend) {
	g := startGateway(t, b)
	for _, verify := range []bool{true, false} {
		c := g.sdk(t, g.reader, verify)
		got := ok(c.GetSecretValue(&dkms.GetSecretValueRequest{SecretName: tea.String("app/db")})).must(t)
		if tea.StringValue(got.SecretData) != "db-password" || tea.StringValue(got.SecretName) != "app/db" || tea.StringValue(got.VersionId) != "v1" ||
			len(got.VersionStages) != 1 || tea.StringValue(got.VersionStages[0]) != "ACSCurrent" || tea.StringValue(got.RequestId) == "" ||
			tea.StringValue(got.SecretDataType) != "text" || tea.StringValue(got.SecretType) != "Generic" {
			t.Fatalf("verify=%v: GetSecretValue = %+v", verify, got)
		}
		if verify { // the SDK proves it holds the client key on the connection: identical reads in one second pass
			ok(c.GetSecretValue(&dkms.GetSecretValueRequest{SecretName: tea.String("app/db")})).must(t)
		}
		enc := ok(c.Encrypt(&dkms.EncryptRequest{KeyId: tea.String(g.keyID), Plaintext: []byte("hello"), Aad: []byte("ctx")})).must(t)
		if tea.StringValue(enc.KeyId) != g.keyID || len(enc.CiphertextBlob) == 0 {
			t.Fatalf("Encrypt = %+v", enc)
		}
		dec := ok(c.Decrypt(&dkms.DecryptRequest{CiphertextBlob: enc.CiphertextBlob, Aad: []byte("ctx")})).must(t)
		if string(dec.Plaintext) != "hello" || tea.StringValue(dec.KeyId) != g.keyID {
			t.Fatalf("Decrypt = %+v", dec)
		}
		_, err := c.Decrypt(&dkms.DecryptRequest{CiphertextBlob: enc.CiphertextBlob, Aad: []byte("other")})
		wantGatewayCode(t, err, 400, "InvalidParameter")
		dk := ok(c.GenerateDataKey(&dkms.GenerateDataKeyRequest{KeyId: tea.String(g.keyID)})).must(t)
		if len(dk.Plaintext) != 32 {
			t.Fatalf("GenerateDataKey = %+v", dk)
		}
		if again := ok(c.Decrypt(&dkms.DecryptRequest{CiphertextBlob: dk.CiphertextBlob})).must(t); !bytes.Equal(again.Plaintext, dk.Plaintext) {
			t.Fatal("the data key does not decrypt to itself")
		}
		if r := ok(c.GenerateRandom(&dkms.GenerateRandomRequest{Length: tea.Int32(24)})).must(t); len(r.Random) != 24 {
			t.Fatalf("GenerateRandom = %+v", r)
		}
		_, err = c.GetSecretValue(&dkms.GetSecretValueRequest{SecretName: tea.String("app/other")})
		wantGatewayCode(t, err, 403, "Forbidden.NoPermission")
		// The instance's endpoint serves the instance's secrets only; the listener's address, all.
		pool, err := c.GetSecretValue(&dkms.GetSecretValueRequest{SecretName: tea.String("pool/x")})
		if verify {
			wantGatewayCode(t, err, 404, "Forbidden.ResourceNotFound")
		} else if err != nil || tea.StringValue(pool.SecretData) != "in the pool" {
			t.Fatalf("GetSecretValue(pool/x) on the address = %+v, %v", pool, err)
		}
		_, err = c.Encrypt(&dkms.EncryptRequest{KeyId: tea.String("key-shared-default"), Plaintext: []byte("x")}) // pool/x made it
		if verify {
			wantGatewayCode(t, err, 404, "Forbidden.ResourceNotFound")
		} else if err != nil {
			t.Fatalf("Encrypt with the pool's key on the address: %v", err)
		}
	}
	// Without the CA the SDK refuses the endpoint's certificate.
	c := g.sdk(t, g.reader, true)
	c.Ca = nil
	if _, err := c.GetSecretValue(&dkms.GetSecretValueRequest{SecretName: tea.String("app/db")}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client without the instance CA trusted the endpoint: %v", err)
	}
}

// wantGatewayCode asserts an error the KMS Instance SDK decoded from the protobuf Error, which
// it reports with the HTTP status in its data.
func wantGatewayCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) || tea.StringValue(se.Code) != code || !strings.Contains(tea.StringValue(se.Data), fmt.Sprintf(`"httpCode":%d`, status)) {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
}

// signed is a gateway request made by hand, as the SDK makes it, so that a test can alter it.
func (g *gateway) signed(t testing.TB, k clientKey, action string, body []byte, date time.Time, edit func(*http.Request)) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://"+g.s.host+"/", bytes.NewReader(body))
	r.RequestURI = ""
	sum := sha256.Sum256(body)
	h := map[string]string{
		"accept": "application/x-protobuf", "content-type": "application/x-protobuf", "date": date.UTC().Format(http.TimeFormat),
		"x-kms-apiversion": "dkms-gcs-0.2", "x-kms-apiname": action, "x-kms-signaturemethod": "RSA_PKCS1_SHA_256",
		"x-kms-acccesskeyid": k.id, "content-sha256": strings.ToUpper(hex.EncodeToString(sum[:])),
	}
	for name, v := range h {
		r.Header.Set(name, v)
	}
	if edit != nil {
		edit(r)
	}
	toSign := "POST\n" + r.Header.Get("content-sha256") + "\n" + r.Header.Get("content-type") + "\n" + r.Header.Get("date") + "\n" +
		"x-kms-acccesskeyid:" + r.Header.Get("x-kms-acccesskeyid") + "\nx-kms-apiname:" + action + "\nx-kms-apiversion:dkms-gcs-0.2\nx-kms-signaturemethod:RSA_PKCS1_SHA_256\n/"
	digest := sha256.Sum256([]byte(toSign))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("authorization", "Bearer "+base64.StdEncoding.EncodeToString(sig))
	return r
}

// send sends r and returns its status and, for an error, the protobuf Error.
func send(t *testing.T, r *http.Request) (int, *api.Error) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		return res.StatusCode, nil
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		t.Fatalf("error of type %q: %s", ct, b)
	}
	e := &api.Error{}
	if err := proto.Unmarshal(b, e); err != nil {
		t.Fatalf("the error is not a protobuf Error: %v", err)
	}
	return res.StatusCode, e
}

// TestKMSGatewayRefuses sends requests the gateway must refuse, each answered with the protobuf
// Error the SDK decodes, and the request that proves each would otherwise pass.
func TestKMSGatewayRefuses(t *testing.T) {
	g := startGateway(t, newBackend(t, "embedded"))
	secret := func(name string) []byte {
		b, _ := proto.Marshal(&api.GetSecretValueRequest{SecretName: name})
		return b
	}
	now := time.Now()
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := g.signed(t, g.reader, "GetSecretValue", secret("app/db"), now, nil)
	replay := good.Clone(good.Context())
	if st, e := send(t, good); st != 200 {
		t.Fatalf("a well-signed request was refused: %d %v", st, e)
	}
	replay.Body = io.NopCloser(bytes.NewReader(secret("app/db")))
	onGetSecret := func(r *http.Request) { r.URL.Path = "/getSecret" }
	// The read path's function serves the gateway's GetSecretValue, and nothing else.
	current, _ := proto.Marshal(&api.GetSecretValueRequest{SecretName: "app/db", VersionStage: "ACSCurrent"}) // not good's bytes
	if st, e := send(t, g.signed(t, g.reader, "GetSecretValue", current, now, onGetSecret)); st != 200 {
		t.Fatalf("getSecret refused GetSecretValue: %d %v", st, e)
	}
	random, _ := proto.Marshal(&api.GenerateRandomRequest{Length: 8})
	cases := []struct {
		name   string
		r      *http.Request
		status int
		code   string
	}{
		{"wrong signature", g.signed(t, clientKey{id: g.reader.id, priv: stranger}, "GetSecretValue", secret("app/db"), now, nil), 400, "SignatureDoesNotMatch"},
		{"replayed request", replay, 400, "SignatureNonceUsed"},
		{"skewed date", g.signed(t, g.reader, "GetSecretValue", secret("app/db"), now.Add(-20*time.Minute), nil), 400, "RequestTimeTooSkewed"},
		{"body hash mismatch", g.signed(t, g.reader, "GetSecretValue", secret("app/db"), now, func(r *http.Request) {
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(secret("app/other"))), int64(len(secret("app/other")))
		}), 400, "SignatureDoesNotMatch"},
		{"policy does not cover the secret", g.signed(t, g.reader, "GetSecretValue", secret("app/other"), now, nil), 403, "Forbidden.NoPermission"},
		{"outside the network rule", g.signed(t, g.far, "GetSecretValue", secret("app/db"), now, nil), 403, "Forbidden.NoPermission"},
		{"unknown client key", g.signed(t, clientKey{id: "KAAP.00000000-0000-4000-8000-000000000000", priv: stranger}, "GetSecretValue", secret("app/db"), now, nil), 404, "InvalidAccessKeyId.NotFound"},
		{"unknown action", g.signed(t, g.reader, "Sign", nil, now, nil), 404, "InvalidAction.NotFound"},
		{"a key action on getSecret", g.signed(t, g.reader, "GenerateRandom", random, now, onGetSecret), 404, "InvalidAction.NotFound"},
		{"wrong api version", g.signed(t, g.reader, "GetSecretValue", secret("app/db"), now, func(r *http.Request) { r.Header.Set("x-kms-apiversion", "dkms-gcs-9") }), 400, "InvalidParameter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, e := send(t, c.r)
			if st != c.status || e == nil || e.ErrorCode != c.code || int(e.StatusCode) != c.status || e.RequestId == "" || e.ErrorMessage == "" {
				t.Fatalf("got %d %+v, want %d %s", st, e, c.status, c.code)
			}
			if strings.Contains(e.ErrorMessage, "db-password") {
				t.Fatal("the error carries the secret")
			}
		})
	}
}

// TestCachingClientThroughTheGateway configures the caching client as Alibaba documents for a
// KMS instance, through cache_client_dkms_config_info, and reads a secret over the gateway, with
// TLS ignored and with the instance CA verified.
func TestCachingClientThroughTheGateway(t *testing.T) {
	g := startGateway(t, newBackend(t, "embedded"))
	dir := t.TempDir()
	keyFile, passwordFile, caFile := filepath.Join(dir, "clientKey.json"), filepath.Join(dir, "password"), filepath.Join(dir, "ca.pem")
	for f, v := range map[string]string{keyFile: g.reader.content, passwordFile: g.reader.password, caFile: g.ca} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, port, _ := net.SplitHostPort(g.s.host)
	for _, verify := range []bool{false, true} {
		conf := map[string]any{"regionId": "coffer", "endpoint": g.s.host, "clientKeyFile": keyFile, "passwordFromFilePath": passwordFile, "ignoreSslCerts": true}
		if verify {
			conf["endpoint"], conf["ignoreSslCerts"], conf["caCert"] = g.inst+".cryptoservice.kms.test:"+port, false, g.ca
			conf["httpsProxy"] = connectProxy(t, g.s.host)
		}
		doc, _ := json.Marshal([]any{conf})
		t.Setenv("cache_client_dkms_config_info", string(doc))
		client, err := sdk.NewSecretCacheClientBuilder(service.NewDefaultSecretManagerClientBuilder().Standard().Build()).Build()
		if err != nil {
			t.Fatalf("verify=%v: %v", verify, err)
		}
		info, err := client.GetSecretInfo("app/db")
		if err != nil || info.SecretValue != "db-password" {
			t.Fatalf("verify=%v: GetSecretInfo(app/db) = %+v, %v", verify, info, err)
		}
		if _, err := client.GetSecretInfo("app/other"); err == nil || !strings.Contains(err.Error(), "Forbidden.NoPermission") {
			t.Fatalf("verify=%v: the client key read a secret outside its policy: %v", verify, err)
		}
	}
}

// BenchmarkGatewayGetSecretValue measures the gateway's GetSecretValue on the getSecret function's
// handler in process, as BenchmarkGetSecretValueHandler does the OpenAPI's: parsing, the RSA
// signature check, the nonce claim, the store read, decryption and the protobuf answer.
func BenchmarkGatewayGetSecretValue(b *testing.B) {
	for _, name := range backendNames {
		b.Run(name, func(b *testing.B) {
			g := startGateway(b, newBackend(b, name))
			h := g.s.emu.Function("getSecret").HTTP
			body, _ := proto.Marshal(&api.GetSecretValueRequest{SecretName: "app/db"})
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				// An unknown field (skipped by the decoder) makes each request, and its signature, new.
				unique := protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), body...), 99, protowire.VarintType), uint64(i))
				reqs[i] = g.signed(b, g.reader, "GetSecretValue", unique, time.Now(), nil)
				reqs[i].RemoteAddr = "127.0.0.1:1234"
			}
			serveBench(b, name, h, reqs)
		})
	}
}
