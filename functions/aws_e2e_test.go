package functions_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/generic"
)

// awsClient is AWS's own Secrets Manager SDK pointed at endpoint, signing as id, with no retries
// so that each error is the server's first answer.
func awsClient(endpoint, id, secret string, mutate ...func(*sm.Options)) *sm.Client {
	return sm.New(sm.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(endpoint), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
	}, mutate...)
}

// wantAWS asserts an AWS error of the given exception type.
func wantAWS(t *testing.T, err error, code string) {
	t.Helper()
	if awsCode(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// awsCode is the exception type of an AWS error, "" for any other outcome.
func awsCode(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	return ae.ErrorCode()
}

func TestAWSSDKSecrets(t *testing.T) { forEachBackend(t, testAWSSDKSecrets) }

func testAWSSDKSecrets(t *testing.T, b backend) {
	s := b.start(t, nil)
	c := awsClient(s.url, adminID, adminSecret)
	ctx := context.Background()

	created := ok(c.CreateSecret(ctx, &sm.CreateSecretInput{
		Name: aws.String("app/db"), SecretString: aws.String("v1-value"), Description: aws.String("db"),
		ClientRequestToken: aws.String("token-0000000000000000000000000001"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})).must(t)
	arn := aws.ToString(created.ARN)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:eu-west-1:") || !strings.Contains(arn, ":secret:app/db-") || len(arn) != len("arn:aws:secretsmanager:eu-west-1:000000000000:secret:app/db-")+6 {
		t.Fatalf("ARN %q is not in AWS's shape", arn)
	}
	_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("app/db"), SecretString: aws.String("again")})
	wantAWS(t, err, "ResourceExistsException")

	// The name, the full ARN and the ARN without its suffix name the same secret.
	for _, id := range []string{"app/db", arn, strings.TrimSuffix(arn, arn[len(arn)-7:])} {
		got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(id)})).must(t)
		if aws.ToString(got.SecretString) != "v1-value" || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) || aws.ToString(got.ARN) != arn {
			t.Fatalf("GetSecretValue(%s) = %+v", id, got)
		}
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(arn[:len(arn)-6] + "XXXXXX")})
	wantAWS(t, err, "ResourceNotFoundException")

	// PutSecretValue: the ClientRequestToken is the version id; the same token and value again
	// succeed, another value under it is refused.
	put := &sm.PutSecretValueInput{SecretId: aws.String("app/db"), SecretString: aws.String("v2-value"), ClientRequestToken: aws.String("token-0000000000000000000000000002")}
	for range 2 {
		got := ok(c.PutSecretValue(ctx, put)).must(t)
		if aws.ToString(got.VersionId) != "token-0000000000000000000000000002" || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) {
			t.Fatalf("PutSecretValue = %+v", got)
		}
	}
	put.SecretString = aws.String("other")
	_, err = c.PutSecretValue(ctx, put)
	wantAWS(t, err, "ResourceExistsException")
	prev := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/db"), VersionStage: aws.String("AWSPREVIOUS")})).must(t)
	if aws.ToString(prev.SecretString) != "v1-value" || aws.ToString(prev.VersionId) != "token-0000000000000000000000000001" {
		t.Fatalf("AWSPREVIOUS = %+v", prev)
	}
	byID := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/db"), VersionId: aws.String("token-0000000000000000000000000002")})).must(t)
	if aws.ToString(byID.SecretString) != "v2-value" {
		t.Fatalf("by VersionId = %+v", byID)
	}

	desc := ok(c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})).must(t)
	if aws.ToString(desc.Description) != "db" || desc.CreatedDate == nil || len(desc.Tags) != 1 ||
		!slices.Equal(desc.VersionIdsToStages["token-0000000000000000000000000001"], []string{"AWSPREVIOUS"}) ||
		!slices.Equal(desc.VersionIdsToStages["token-0000000000000000000000000002"], []string{"AWSCURRENT"}) {
		t.Fatalf("DescribeSecret = %+v", desc)
	}
	// Moving AWSCURRENT back makes the other version AWSPREVIOUS, as in AWS.
	ok(c.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String("app/db"), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: aws.String("token-0000000000000000000000000001"), RemoveFromVersionId: aws.String("token-0000000000000000000000000002"),
	})).must(t)
	if got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/db")})).must(t); aws.ToString(got.SecretString) != "v1-value" {
		t.Fatalf("after the move AWSCURRENT is %+v", got)
	}
	_, err = c.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{SecretId: aws.String("app/db"), VersionStage: aws.String("AWSCURRENT"), RemoveFromVersionId: aws.String("token-0000000000000000000000000001")})
	wantAWS(t, err, "InvalidParameterException")

	versions := ok(c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("app/db")})).must(t)
	if len(versions.Versions) != 2 {
		t.Fatalf("ListSecretVersionIds = %+v", versions)
	}
	ok(c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("app/db"), Description: aws.String("new")})).must(t)
	upd := ok(c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("app/db"), SecretString: aws.String("v3-value")})).must(t)
	if got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/db")})).must(t); aws.ToString(got.SecretString) != "v3-value" || aws.ToString(got.VersionId) != aws.ToString(upd.VersionId) {
		t.Fatalf("UpdateSecret with a value: %+v", got)
	}

	ok(c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("app/db"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})).must(t)
	ok(c.UntagResource(ctx, &sm.UntagResourceInput{SecretId: aws.String("app/db"), TagKeys: []string{"team"}})).must(t)
	desc = ok(c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("app/db")})).must(t)
	if aws.ToString(desc.Description) != "new" || len(desc.Tags) != 1 || aws.ToString(desc.Tags[0].Key) != "env" {
		t.Fatalf("after tagging: %+v", desc)
	}

	// A binary secret keeps its bytes.
	bin := []byte{0, 1, 2, 250, 255}
	ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("app/bin"), SecretBinary: bin})).must(t)
	if got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/bin")})).must(t); !bytes.Equal(got.SecretBinary, bin) || got.SecretString != nil {
		t.Fatalf("binary secret: %+v", got)
	}

	list := ok(c.ListSecrets(ctx, &sm.ListSecretsInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"app/bin"}}}})).must(t)
	if len(list.SecretList) != 1 || aws.ToString(list.SecretList[0].Name) != "app/bin" {
		t.Fatalf("ListSecrets filtered: %+v", list.SecretList)
	}
	paged := ok(c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(1)})).must(t)
	if len(paged.SecretList) != 1 || paged.NextToken == nil {
		t.Fatalf("ListSecrets page 1: %+v", paged)
	}
	paged = ok(c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(1), NextToken: paged.NextToken})).must(t)
	if len(paged.SecretList) != 1 || paged.NextToken != nil {
		t.Fatalf("ListSecrets page 2: %+v", paged)
	}

	batch := ok(c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"app/db", "app/missing"}})).must(t)
	if len(batch.SecretValues) != 1 || aws.ToString(batch.SecretValues[0].SecretString) != "v3-value" ||
		len(batch.Errors) != 1 || aws.ToString(batch.Errors[0].ErrorCode) != "ResourceNotFoundException" {
		t.Fatalf("BatchGetSecretValue = %+v", batch)
	}

	pw := ok(c.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{PasswordLength: aws.Int64(40), ExcludePunctuation: aws.Bool(true)})).must(t)
	if p := aws.ToString(pw.RandomPassword); len(p) != 40 || strings.ContainsAny(p, "!#$%&()*+,-./:;<=>?@[]^_{|}~") {
		t.Fatalf("GetRandomPassword = %q", p)
	}

	pol := ok(c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("app/db")})).must(t)
	if !strings.Contains(aws.ToString(pol.ResourcePolicy), "Statement") {
		t.Fatalf("GetResourcePolicy = %+v", pol)
	}
	_, err = c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("app/db"), ResourcePolicy: aws.String("{not json")})
	wantAWS(t, err, "MalformedPolicyDocumentException")
	deny := `{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["nobody"]},"Action":["kms:GetSecretValue"],"Resource":["*"]}]}`
	ok(c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("app/db"), ResourcePolicy: aws.String(deny)})).must(t)
	if got := ok(c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("app/db")})).must(t); aws.ToString(got.ResourcePolicy) != deny {
		t.Fatalf("the policy set reads back as %q", aws.ToString(got.ResourcePolicy))
	}
	ok(c.DeleteResourcePolicy(ctx, &sm.DeleteResourcePolicyInput{SecretId: aws.String("app/db")})).must(t)

	// Deletion: scheduled, refused while scheduled, restored; forced, gone.
	del := ok(c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("app/db"), RecoveryWindowInDays: aws.Int64(7)})).must(t)
	if del.DeletionDate == nil || del.DeletionDate.Before(time.Now().Add(6*24*time.Hour)) {
		t.Fatalf("DeleteSecret = %+v", del)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/db")})
	wantAWS(t, err, "InvalidRequestException")
	_, err = c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("app/bin"), RecoveryWindowInDays: aws.Int64(3)})
	wantAWS(t, err, "InvalidParameterException")
	ok(c.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String("app/db")})).must(t)
	ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/db")})).must(t)
	ok(c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("app/db"), ForceDeleteWithoutRecovery: aws.Bool(true)})).must(t)
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("app/db")})
	wantAWS(t, err, "ResourceNotFoundException")

	// CancelRotateSecret runs CancelSecretRotation: a secret with no rotation in progress has
	// nothing to cancel.
	_, err = c.CancelRotateSecret(ctx, &sm.CancelRotateSecretInput{SecretId: aws.String("app/bin")})
	wantAWS(t, err, "InvalidRequestException")

	// What Coffer does not serve says so.
	_, err = c.ReplicateSecretToRegions(ctx, &sm.ReplicateSecretToRegionsInput{SecretId: aws.String("app/bin"), AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("us-east-1")}}})
	wantAWS(t, err, "InvalidRequestException")
	_, err = c.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("app/bin"), RotationLambdaARN: aws.String("arn:aws:lambda:eu-west-1:1:function:f")})
	wantAWS(t, err, "InvalidParameterException")
}

// TestAWSSignatures: stale, replayed, mis-signed, unknown-key and session-token requests are
// refused with the exceptions AWS's SDK knows.
func TestAWSSignatures(t *testing.T) { forEachBackend(t, testAWSSignatures) }

func testAWSSignatures(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	c := awsClient(s.url, adminID, adminSecret)
	ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("sig"), SecretString: aws.String("x")})).must(t)

	s.clock.Add(16 * time.Minute)
	_, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sig")})
	wantAWS(t, err, "InvalidSignatureException")
	if !strings.Contains(err.Error(), "Signature expired") {
		t.Fatalf("a stale signature answered %v", err)
	}
	s.clock.Add(-16 * time.Minute)

	_, err = awsClient(s.url, adminID, "wrong-secret").GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sig")})
	wantAWS(t, err, "InvalidSignatureException")
	_, err = awsClient(s.url, "NOSUCHKEY", "x").GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sig")})
	wantAWS(t, err, "UnrecognizedClientException")
	_, err = awsClient(s.url, adminID, adminSecret, func(o *sm.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(adminID, adminSecret, "session-token")
	}).GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sig")})
	wantAWS(t, err, "UnrecognizedClientException")

	req, _ := http.NewRequest("POST", s.url+"/", strings.NewReader(`{"SecretId":"sig"}`))
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" || !strings.Contains(string(body), `"__type":"MissingAuthenticationTokenException"`) {
		t.Fatalf("an unsigned call answered %d %s %s", resp.StatusCode, resp.Header, body)
	}

	// A captured request sent again is refused, on the signed-read path and on the others.
	proxy, replayLast := replayProxy(t, s.url)
	pc := awsClient(proxy.URL, adminID, adminSecret)
	for name, send := range map[string]func() error{
		"GetSecretValue": func() error {
			_, err := pc.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sig")})
			return err
		},
		"ListSecrets": func() error { _, err := pc.ListSecrets(ctx, &sm.ListSecretsInput{}); return err },
		"PutSecretValue": func() error {
			_, err := pc.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("sig"), SecretString: aws.String("y")})
			return err
		},
	} {
		if err := send(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp, b := replayLast()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "InvalidSignatureException") || !strings.Contains(string(b), "served already") {
			t.Fatalf("%s replayed answered %d %s", name, resp.StatusCode, b)
		}
	}
}

// TestAWSUnsignedInvocationRepeats: botocore (boto3, the AWS CLI) signs only content-type, host,
// x-amz-date and x-amz-target, so two identical reads in one second, or a retry, carry the same
// signature; both must be served (as AWS does), while an SDK that signs amz-sdk-invocation-id
// has its replays refused (TestAWSSignatures).
func TestAWSUnsignedInvocationRepeats(t *testing.T) {
	forEachBackend(t, testAWSUnsignedInvocationRepeats)
}

func testAWSUnsignedInvocationRepeats(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	ok(awsClient(s.url, adminID, adminSecret).CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("boto"), SecretString: aws.String("same")})).must(t)
	body := `{"SecretId":"boto"}`
	req, _ := http.NewRequest("POST", s.url+"/", nil)
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", "eu-west-1", s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if a := req.Header.Get("Authorization"); !strings.Contains(a, "SignedHeaders=content-type;host;x-amz-date;x-amz-target,") {
		t.Fatalf("the request is not signed as botocore signs: %s", a)
	}
	for i := range 2 {
		again := req.Clone(ctx)
		again.Body = io.NopCloser(strings.NewReader(body))
		resp, err := http.DefaultClient.Do(again)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(got), `"SecretString":"same"`) {
			t.Fatalf("identical call %d answered %d %s", i+1, resp.StatusCode, got)
		}
	}
}

// TestAWSCrossProtocol: a secret written through one protocol is read and written through the
// other with the same versions and stages.
func TestAWSCrossProtocol(t *testing.T) { forEachBackend(t, testAWSCrossProtocol) }

func testAWSCrossProtocol(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	ali := s.client(t, "")
	c := awsClient(s.url, adminID, adminSecret)

	ok(ali.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("both"), VersionId: tea.String("v1"), SecretData: tea.String("from-alibaba")})).must(t)
	got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("both")})).must(t)
	if aws.ToString(got.SecretString) != "from-alibaba" || aws.ToString(got.VersionId) != "v1" || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("AWS read of an Alibaba secret: %+v", got)
	}
	ok(c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("both"), SecretString: aws.String("from-aws"), ClientRequestToken: aws.String("v2")})).must(t)
	cur := ok(ali.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("both")})).must(t).Body
	if tea.StringValue(cur.SecretData) != "from-aws" || tea.StringValue(cur.VersionId) != "v2" || !slices.Contains(tea.StringSliceValue(cur.VersionStages.VersionStage), "ACSCurrent") {
		t.Fatalf("Alibaba read of an AWS version: %+v", cur)
	}
	prev := ok(ali.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("both"), VersionStage: tea.String("ACSPrevious")})).must(t).Body
	if tea.StringValue(prev.SecretData) != "from-alibaba" {
		t.Fatalf("ACSPrevious after an AWS put: %+v", prev)
	}

	ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("aws-made"), SecretString: aws.String("aws-value"), ClientRequestToken: aws.String("t1")})).must(t)
	ok(ali.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String("aws-made"), VersionId: tea.String("t2"), SecretData: tea.String("ali-value")})).must(t)
	desc := ok(c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("aws-made")})).must(t)
	if !slices.Equal(desc.VersionIdsToStages["t1"], []string{"AWSPREVIOUS"}) || !slices.Equal(desc.VersionIdsToStages["t2"], []string{"AWSCURRENT"}) {
		t.Fatalf("stages of a secret written through both: %+v", desc.VersionIdsToStages)
	}
}

// TestAWSOnGetSecretFunction: the getSecret function serves AWS's reads, filtered batches
// included, and nothing else.
func TestAWSOnGetSecretFunction(t *testing.T) {
	s := newBackend(t, "embedded").start(t, nil)
	ctx := context.Background()
	ok(awsClient(s.url, adminID, adminSecret).CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("r"), SecretString: aws.String("x")})).must(t)
	g := awsClient(s.url+"/getSecret", adminID, adminSecret)
	if got := ok(g.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("r")})).must(t); aws.ToString(got.SecretString) != "x" {
		t.Fatalf("getSecret GetSecretValue = %+v", got)
	}
	ok(g.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"r"}})).must(t)
	if got := ok(g.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"r"}}}})).must(t); len(got.SecretValues) != 1 {
		t.Fatalf("getSecret filtered BatchGetSecretValue = %+v", got)
	}
	_, err := g.ValidateResourcePolicy(ctx, &sm.ValidateResourcePolicyInput{ResourcePolicy: aws.String(`{"Version":"1","Statement":[]}`)})
	wantAWS(t, err, "InvalidRequestException")
	_, err = g.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("w"), SecretString: aws.String("x")})
	wantAWS(t, err, "InvalidRequestException")
	_, err = g.ListSecrets(ctx, &sm.ListSecretsInput{})
	wantAWS(t, err, "InvalidRequestException")
}

// TestAWSAuthorizationSameAsOpenAPI: the same least-privilege keys get the same answers through
// both protocols, action by action and secret by secret.
func TestAWSAuthorizationSameAsOpenAPI(t *testing.T) {
	forEachBackend(t, testAWSAuthorizationSameAsOpenAPI)
}

func testAWSAuthorizationSameAsOpenAPI(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	admin := s.client(t, "")
	for _, name := range []string{"app/db", "app/other", "team/a"} {
		ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("value")})).must(t)
	}
	for _, st := range []struct {
		action string
		query  map[string]string
	}{
		{"CreateNetworkRule", map[string]string{"Name": "anywhere", "SourcePrivateIp": `["0.0.0.0/0","::/0"]`}},
		{"CreatePolicy", map[string]string{"Name": "readDb", "Permissions": `["RbacPermission/Template/SecretUser"]`, "Resources": `["secret/app/db"]`, "AccessControlRules": `{"NetworkRules":["anywhere"]}`}},
		{"CreatePolicy", map[string]string{"Name": "teamManage", "Permissions": `["CofferSecretManager"]`, "Resources": `["secret/team/*"]`, "AccessControlRules": `{"NetworkRules":["anywhere"]}`}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "reader", "AuthenticationMethod": "AccessKey", "Policies": `["readDb"]`}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "mgr", "AuthenticationMethod": "AccessKey", "Policies": `["teamManage"]`}},
	} {
		ok(call(admin, st.action, st.query)).must(t)
	}
	principals := map[string]principal{
		"reader": accessKey(t, admin, map[string]string{"AapName": "reader"}),
		"mgr":    accessKey(t, admin, map[string]string{"AapName": "mgr"}),
		"nobody": accessKey(t, admin, map[string]string{"Description": "no policy"}),
	}
	// Each row is one action through both protocols on a secret; writes use fresh version ids so
	// that an allowed first protocol does not decide the second one's answer.
	type row struct {
		action string
		acs    func(name, n string) map[string]string
		aws    func(c *sm.Client, name, n string) error
	}
	rows := []row{
		{"GetSecretValue", func(name, _ string) map[string]string { return map[string]string{"SecretName": name} },
			func(c *sm.Client, name, _ string) error {
				_, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(name)})
				return err
			}},
		{"DescribeSecret", func(name, _ string) map[string]string { return map[string]string{"SecretName": name} },
			func(c *sm.Client, name, _ string) error {
				_, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(name)})
				return err
			}},
		{"ListSecretVersionIds", func(name, _ string) map[string]string { return map[string]string{"SecretName": name} },
			func(c *sm.Client, name, _ string) error {
				_, err := c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String(name)})
				return err
			}},
		{"PutSecretValue", func(name, n string) map[string]string {
			return map[string]string{"SecretName": name, "VersionId": "acs" + n, "SecretData": "w"}
		}, func(c *sm.Client, name, n string) error {
			_, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("w"), ClientRequestToken: aws.String("aws" + n)})
			return err
		}},
		{"UpdateSecret", func(name, _ string) map[string]string {
			return map[string]string{"SecretName": name, "Description": "d"}
		},
			func(c *sm.Client, name, _ string) error {
				_, err := c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String(name), Description: aws.String("d")})
				return err
			}},
		{"TagResource", func(name, _ string) map[string]string {
			return map[string]string{"SecretName": name, "Tags": `[{"TagKey":"k","TagValue":"v"}]`}
		}, func(c *sm.Client, name, _ string) error {
			_, err := c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String(name), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		}},
		{"GetSecretPolicy", func(name, _ string) map[string]string { return map[string]string{"SecretName": name} },
			func(c *sm.Client, name, _ string) error {
				_, err := c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String(name)})
				return err
			}},
		{"CreateSecret", func(name, n string) map[string]string {
			return map[string]string{"SecretName": name + "/acs" + n, "VersionId": "v1", "SecretData": "c"}
		}, func(c *sm.Client, name, n string) error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name + "/aws" + n), SecretString: aws.String("c")})
			return err
		}},
	}
	// acsAnswer and awsAnswer put an outcome in one vocabulary: ok, denied, not found, or the code.
	acsAnswer := func(err error) string {
		var se *tea.SDKError
		switch {
		case err == nil:
			return "ok"
		case !errors.As(err, &se):
			return err.Error()
		case tea.StringValue(se.Code) == "Forbidden.NoPermission":
			return "denied"
		case tea.StringValue(se.Code) == "Forbidden.ResourceNotFound":
			return "not found"
		}
		return tea.StringValue(se.Code)
	}
	awsAnswer := func(err error) string {
		var ae smithy.APIError
		switch {
		case err == nil:
			return "ok"
		case !errors.As(err, &ae):
			return err.Error()
		case ae.ErrorCode() == "AccessDeniedException":
			return "denied"
		case ae.ErrorCode() == "ResourceNotFoundException":
			return "not found"
		}
		return ae.ErrorCode()
	}
	seen := map[string]bool{}
	n := 0
	for who, p := range principals {
		ac := sdkClient(t, p.id, p.secret, s.host, "")
		wc := awsClient(s.url, p.id, p.secret)
		for _, r := range rows {
			for _, name := range []string{"app/db", "app/other", "team/a", "team/missing"} {
				n++
				id := strings.Repeat("0", 4) + string(rune('a'+n%26)) + strings.Repeat("x", n%7) + who
				_, errACS := call(ac, r.action, r.acs(name, id))
				errAWS := r.aws(wc, name, id)
				got, want := awsAnswer(errAWS), acsAnswer(errACS)
				if got != want {
					t.Errorf("%s %s %s: AWS answered %s (%v), the OpenAPI %s (%v)", who, r.action, name, got, errAWS, want, errACS)
				}
				seen[got] = true
			}
		}
	}
	// The table is only worth its rows if it saw both outcomes.
	if !seen["ok"] || !seen["denied"] {
		t.Fatalf("the rows saw only %v", seen)
	}
	// Listings show the same secrets through both.
	for who, p := range principals {
		acsList, errACS := sdkClient(t, p.id, p.secret, s.host, "").ListSecrets(&kms.ListSecretsRequest{PageSize: tea.Int32(100)})
		awsList, errAWS := awsClient(s.url, p.id, p.secret).ListSecrets(ctx, &sm.ListSecretsInput{})
		if got, want := awsAnswer(errAWS), acsAnswer(errACS); got != want {
			t.Errorf("%s ListSecrets: AWS answered %s, the OpenAPI %s", who, got, want)
		} else if errAWS == nil && len(awsList.SecretList) != int(tea.Int32Value(acsList.Body.TotalCount)) {
			t.Errorf("%s lists %d secrets through AWS, %d through the OpenAPI", who, len(awsList.SecretList), tea.Int32Value(acsList.Body.TotalCount))
		}
	}
}

// awsKey is an access key whose access point holds template on resources (a JSON list), from
// any address.
func awsKey(t *testing.T, admin *kms.Client, name, template, resources string) principal {
	t.Helper()
	ok(call(admin, "CreateNetworkRule", map[string]string{"Name": name + "-net", "SourcePrivateIp": `["0.0.0.0/0","::/0"]`})).must(t)
	ok(call(admin, "CreatePolicy", map[string]string{"Name": name, "Permissions": `["` + template + `"]`, "Resources": resources, "AccessControlRules": `{"NetworkRules":["` + name + `-net"]}`})).must(t)
	ok(call(admin, "CreateApplicationAccessPoint", map[string]string{"Name": name, "AuthenticationMethod": "AccessKey", "Policies": `["` + name + `"]`})).must(t)
	return accessKey(t, admin, map[string]string{"AapName": name})
}

// denyRead is a secret policy that denies reading the secret to the access point aap.
func denyRead(aap string) string {
	return `{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["aap/` + aap + `"]},"Action":["kms:GetSecretValue"],"Resource":["*"]}]}`
}

// TestAWSCreateSecretToken: CreateSecret repeated with its ClientRequestToken and value answers
// as the first call did; another value or another token is ResourceExistsException, and a writer
// who may not read the secret cannot learn through it whether a guessed value matches.
func TestAWSCreateSecretToken(t *testing.T) { forEachBackend(t, testAWSCreateSecretToken) }

func testAWSCreateSecretToken(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	c := awsClient(s.url, adminID, adminSecret)
	in := &sm.CreateSecretInput{Name: aws.String("tok/db"), SecretString: aws.String("first"), ClientRequestToken: aws.String("token-0000000000000000000000000001")}
	first := ok(c.CreateSecret(ctx, in)).must(t)
	again := ok(c.CreateSecret(ctx, in)).must(t)
	if aws.ToString(again.ARN) != aws.ToString(first.ARN) || aws.ToString(again.Name) != "tok/db" || aws.ToString(again.VersionId) != "token-0000000000000000000000000001" {
		t.Fatalf("the repeated CreateSecret answered %+v, the first %+v", again, first)
	}
	for name, repeat := range map[string]*sm.CreateSecretInput{
		"same token, other value":  {Name: in.Name, SecretString: aws.String("second"), ClientRequestToken: in.ClientRequestToken},
		"same token, binary value": {Name: in.Name, SecretBinary: []byte("first"), ClientRequestToken: in.ClientRequestToken},
		"other token, same value":  {Name: in.Name, SecretString: in.SecretString, ClientRequestToken: aws.String("token-0000000000000000000000000002")},
	} {
		if _, err := c.CreateSecret(ctx, repeat); awsCode(err) != "ResourceExistsException" {
			t.Fatalf("%s: got %v, want ResourceExistsException", name, err)
		}
	}
	versions := ok(c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: in.Name})).must(t)
	if got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: in.Name})).must(t); len(versions.Versions) != 1 || aws.ToString(got.SecretString) != "first" {
		t.Fatalf("the repeats changed the secret: %+v, %q", versions.Versions, aws.ToString(got.SecretString))
	}

	// A manager barred from reading tok/db by its policy gets the same answer for the right value
	// as for a wrong one.
	admin := s.client(t, "")
	mgr := awsKey(t, admin, "tokmgr", "CofferSecretManager", `["secret/tok/*"]`)
	ok(c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: in.Name, ResourcePolicy: aws.String(denyRead("tokmgr"))})).must(t)
	mc := awsClient(s.url, mgr.id, mgr.secret)
	_, err := mc.CreateSecret(ctx, in)
	wantAWS(t, err, "ResourceExistsException")
	right := err.Error()
	_, err = mc.CreateSecret(ctx, &sm.CreateSecretInput{Name: in.Name, SecretString: aws.String("guess"), ClientRequestToken: in.ClientRequestToken})
	wantAWS(t, err, "ResourceExistsException")
	if strip := func(s string) string { return s[strings.Index(s, "ResourceExists"):] }; strip(right) != strip(err.Error()) {
		t.Fatalf("a writer who may not read tells the right value (%s) from a guess (%s)", right, err)
	}
}

// TestAWSValidateResourcePolicy: the validation PutResourcePolicy runs, answered in AWS's shape,
// setting nothing, with PutResourcePolicy's permission.
func TestAWSValidateResourcePolicy(t *testing.T) { forEachBackend(t, testAWSValidateResourcePolicy) }

func testAWSValidateResourcePolicy(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	c := awsClient(s.url, adminID, adminSecret)
	for _, name := range []string{"pol/a", "other/b"} {
		ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x")})).must(t)
	}
	arn := aws.ToString(ok(c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("pol/a")})).must(t).ARN)
	admin := s.client(t, "")
	m := awsKey(t, admin, "polmgr", "CofferSecretManager", `["secret/pol/*"]`)
	mgr := awsClient(s.url, m.id, m.secret)
	r := awsKey(t, admin, "polreader", "SecretUser", `["secret/*"]`)
	reader := awsClient(s.url, r.id, r.secret)
	deny := denyRead("someone")
	rotate := `{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["aap/polmgr"]},"Action":["kms:RotateSecret"],"Resource":["*"]}]}`
	badEffect := `{"Version":"1","Statement":[{"Effect":"Perhaps","Principal":"*","Action":["kms:GetSecretValue"]}]}`
	iam := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{}}]}`
	for _, r := range []struct {
		name     string
		c        *sm.Client
		secretID string // "" leaves SecretId out
		policy   string
		check    string // the failed check, "" when it passes; or the exception
	}{
		{"admin, a Deny", c, "pol/a", deny, ""},
		{"admin, no secret", c, "", deny, ""},
		{"admin, by ARN", c, arn, deny, ""},
		{"an unknown Effect", c, "pol/a", badEffect, "POLICY_GRAMMAR"},
		{"an IAM policy with a Condition", c, "", iam, "POLICY_GRAMMAR"},
		{"not JSON", c, "pol/a", "{not json", "MalformedPolicyDocumentException"},
		{"no document", c, "pol/a", "", "InvalidParameterException"},
		{"a missing secret", c, "pol/missing", deny, "ResourceNotFoundException"},
		{"a manager on its own secret", mgr, "pol/a", deny, ""},
		{"a manager without a secret", mgr, "", deny, ""},
		{"a manager granting what it does not hold", mgr, "pol/a", rotate, "GRANTS_HELD"},
		{"a manager on another's secret", mgr, "other/b", deny, "AccessDeniedException"},
		{"a manager on a missing secret elsewhere", mgr, "other/missing", deny, "AccessDeniedException"},
		{"a reader", reader, "pol/a", deny, "AccessDeniedException"},
		{"a reader without a secret", reader, "", deny, "AccessDeniedException"},
	} {
		in := &sm.ValidateResourcePolicyInput{ResourcePolicy: aws.String(r.policy)}
		if r.secretID != "" {
			in.SecretId = aws.String(r.secretID)
		}
		got, err := r.c.ValidateResourcePolicy(ctx, in)
		switch {
		case strings.HasSuffix(r.check, "Exception"):
			if code := awsCode(err); code != r.check {
				t.Fatalf("%s: got %v, want %s", r.name, err, r.check)
			}
		case err != nil:
			t.Fatalf("%s: %v", r.name, err)
		case r.check == "" && (!got.PolicyValidationPassed || len(got.ValidationErrors) != 0):
			t.Fatalf("%s: %+v", r.name, got.ValidationErrors)
		case r.check != "" && (got.PolicyValidationPassed || len(got.ValidationErrors) != 1 ||
			aws.ToString(got.ValidationErrors[0].CheckName) != r.check || aws.ToString(got.ValidationErrors[0].ErrorMessage) == ""):
			t.Fatalf("%s: passed %v, %+v", r.name, got.PolicyValidationPassed, got.ValidationErrors)
		}
	}
	// Validation sets nothing.
	if got := ok(c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("pol/a")})).must(t); strings.Contains(aws.ToString(got.ResourcePolicy), "Deny") {
		t.Fatalf("ValidateResourcePolicy set the policy: %s", aws.ToString(got.ResourcePolicy))
	}
}

// TestAWSBatchGetSecretValueFilters: a batch picked by ListSecrets' Filters, paged, each secret
// read as its caller may read it.
func TestAWSBatchGetSecretValueFilters(t *testing.T) {
	forEachBackend(t, testAWSBatchGetSecretValueFilters)
}

func testAWSBatchGetSecretValueFilters(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	c := awsClient(s.url, adminID, adminSecret)
	for _, name := range []string{"batch/a", "batch/b", "batch/c", "other/x"} {
		ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("value of " + name)})).must(t)
	}
	ok(c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("batch/c"), RecoveryWindowInDays: aws.Int64(7)})).must(t)
	ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("batch/d"), SecretString: aws.String("value of batch/d")})).must(t)
	names := func(out *sm.BatchGetSecretValueOutput) []string {
		var ns []string
		for _, v := range out.SecretValues {
			if aws.ToString(v.SecretString) != "value of "+aws.ToString(v.Name) {
				t.Fatalf("%s holds %q", aws.ToString(v.Name), aws.ToString(v.SecretString))
			}
			ns = append(ns, aws.ToString(v.Name))
		}
		return ns
	}
	filters := []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"batch/"}}}

	all := ok(c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{Filters: filters})).must(t)
	if got := names(all); !slices.Equal(got, []string{"batch/a", "batch/b", "batch/d"}) || len(all.Errors) != 0 || all.NextToken != nil {
		t.Fatalf("filtered batch: %v, %+v, next %v", got, all.Errors, all.NextToken)
	}
	// Pages of two: the secret planned for deletion is left out after paging, as ListSecrets does.
	var paged []string
	in := &sm.BatchGetSecretValueInput{Filters: filters, MaxResults: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out := ok(c.BatchGetSecretValue(ctx, in)).must(t)
		paged = append(paged, names(out)...)
		if out.NextToken == nil {
			break
		}
		if pages > 2 {
			t.Fatalf("more pages than secrets")
		}
		in.NextToken = out.NextToken
	}
	if !slices.Equal(paged, []string{"batch/a", "batch/b", "batch/d"}) {
		t.Fatalf("paged batch: %v", paged)
	}
	tagged := ok(c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"nothing-matches"}}}})).must(t)
	if len(tagged.SecretValues) != 0 || len(tagged.Errors) != 0 {
		t.Fatalf("a filter that picks nothing: %+v", tagged)
	}

	for name, bad := range map[string]*sm.BatchGetSecretValueInput{
		"both":                       {Filters: filters, SecretIdList: []string{"batch/a"}},
		"neither":                    {},
		"MaxResults without Filters": {SecretIdList: []string{"batch/a"}, MaxResults: aws.Int32(2)},
		"NextToken without Filters":  {SecretIdList: []string{"batch/a"}, NextToken: aws.String("2")},
		"MaxResults over 20":         {Filters: filters, MaxResults: aws.Int32(21)},
		"a NextToken never given":    {Filters: filters, NextToken: aws.String("x")},
		"an unknown filter key":      {Filters: []types.Filter{{Key: types.FilterNameStringTypePrimaryRegion, Values: []string{"x"}}}},
		"a filter without values":    {Filters: []types.Filter{{Key: types.FilterNameStringTypeName}}},
		"21 secrets in SecretIdList": {SecretIdList: slices.Repeat([]string{"batch/a"}, 21)},
	} {
		if _, err := c.BatchGetSecretValue(ctx, bad); awsCode(err) != "InvalidParameterException" {
			t.Fatalf("%s: got %v, want InvalidParameterException", name, err)
		}
	}

	// A manager of batch/* lists all three but may not read batch/b: that one is in Errors. A
	// reader without kms:ListSecrets may not filter, only name secrets.
	admin := s.client(t, "")
	mgr := awsKey(t, admin, "batchmgr", "CofferSecretManager", `["secret/batch/*"]`)
	ok(c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("batch/b"), ResourcePolicy: aws.String(denyRead("batchmgr"))})).must(t)
	mine := ok(awsClient(s.url, mgr.id, mgr.secret).BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"/"}}}})).must(t)
	if got := names(mine); !slices.Equal(got, []string{"batch/a", "batch/d"}) || len(mine.Errors) != 1 ||
		aws.ToString(mine.Errors[0].SecretId) != "batch/b" || aws.ToString(mine.Errors[0].ErrorCode) != "AccessDeniedException" {
		t.Fatalf("a manager's filtered batch: %v, %+v", got, mine.Errors)
	}
	// Its audit record names the secrets it read, the denied one included, not secret/*.
	if want := `"accessKeyId":"` + mgr.id + `","sourceIp":"127.0.0.1","action":"BatchGetSecretValue","resources":["secret/batch/a","secret/batch/b","secret/batch/d"]`; !strings.Contains(s.logs.String(), want) {
		t.Fatalf("no audit record %s in:\n%s", want, s.logs)
	}
	reader := awsKey(t, admin, "batchreader", "SecretUser", `["secret/batch/*"]`)
	rc := awsClient(s.url, reader.id, reader.secret)
	_, err := rc.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{Filters: filters})
	wantAWS(t, err, "AccessDeniedException")
	named := ok(rc.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"batch/a", "other/x"}})).must(t)
	if got := names(named); !slices.Equal(got, []string{"batch/a"}) || len(named.Errors) != 1 || aws.ToString(named.Errors[0].ErrorCode) != "AccessDeniedException" {
		t.Fatalf("a reader's named batch: %v, %+v", got, named.Errors)
	}
}

// TestAWSKmsKeyIdPlacesSecret: AWS's CreateSecret names no KMS instance, so a KmsKeyId of an
// instance's key puts the secret in that instance, and authorization judges it there: a key that
// may create secrets only in the shared pool, and use the instance's key, is refused.
func TestAWSKmsKeyIdPlacesSecret(t *testing.T) { forEachBackend(t, testAWSKmsKeyIdPlacesSecret) }

func testAWSKmsKeyIdPlacesSecret(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	admin := s.client(t, "")
	inst, _ := ok(call(admin, "CreateKmsInstance", map[string]string{"KmsInstanceName": "prod", "EndDate": "2099-01-01T00:00:00Z"})).must(t)["KmsInstanceId"].(string)
	key := tea.StringValue(ok(admin.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(inst)})).must(t).Body.KeyMetadata.KeyId)

	c := awsClient(s.url, adminID, adminSecret)
	ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("in-prod"), SecretString: aws.String("v"), KmsKeyId: aws.String(key)})).must(t)
	d := ok(admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("in-prod")})).must(t).Body
	if tea.StringValue(d.DKMSInstanceId) != inst || tea.StringValue(d.EncryptionKeyId) != key {
		t.Fatalf("a secret created with the instance's key: instance %q key %q, want %q %q", tea.StringValue(d.DKMSInstanceId), tea.StringValue(d.EncryptionKeyId), inst, key)
	}
	if got := ok(c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("in-prod")})).must(t); aws.ToString(got.KmsKeyId) != key {
		t.Fatalf("AWS DescribeSecret KmsKeyId = %q, want %q", aws.ToString(got.KmsKeyId), key)
	}
	_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("no-key"), SecretString: aws.String("v"), KmsKeyId: aws.String("key-missing")})
	wantAWS(t, err, "ResourceNotFoundException")

	for _, st := range []struct {
		action string
		query  map[string]string
	}{
		{"CreateNetworkRule", map[string]string{"Name": "anywhere", "SourcePrivateIp": `["0.0.0.0/0","::/0"]`}},
		{"CreatePolicy", map[string]string{"Name": "sharedManage", "Permissions": `["CofferSecretManager"]`, "Resources": `["*"]`, "KmsInstance": "shared", "AccessControlRules": `{"NetworkRules":["anywhere"]}`}},
		{"CreatePolicy", map[string]string{"Name": "prodKeys", "Permissions": `["CryptoServiceKeyUser"]`, "Resources": `["*"]`, "KmsInstance": inst, "AccessControlRules": `{"NetworkRules":["anywhere"]}`}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "pool", "AuthenticationMethod": "AccessKey", "Policies": `["sharedManage","prodKeys"]`}},
	} {
		ok(call(admin, st.action, st.query)).must(t)
	}
	p := accessKey(t, admin, map[string]string{"AapName": "pool"})
	pool := awsClient(s.url, p.id, p.secret)
	ok(pool.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("in-pool"), SecretString: aws.String("v")})).must(t)
	_, err = pool.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("smuggled"), SecretString: aws.String("v"), KmsKeyId: aws.String(key)})
	wantAWS(t, err, "AccessDeniedException")
	if _, err := admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("smuggled")}); err == nil {
		t.Fatal("a refused CreateSecret created its secret")
	}
}

// TestAWSKeyFailures: a secret whose key is disabled answers AWS's DecryptionFailure on a read
// (in a batch's Errors too) and EncryptionFailure on a write, as AWS names them.
func TestAWSKeyFailures(t *testing.T) { forEachBackend(t, testAWSKeyFailures) }

func testAWSKeyFailures(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	admin := s.client(t, "")
	key := tea.StringValue(ok(admin.CreateKey(&kms.CreateKeyRequest{})).must(t).Body.KeyMetadata.KeyId)
	c := awsClient(s.url, adminID, adminSecret)
	ok(c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("locked"), SecretString: aws.String("v"), KmsKeyId: aws.String(key)})).must(t)
	ok(admin.DisableKey(&kms.DisableKeyRequest{KeyId: tea.String(key)})).must(t)

	_, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("locked")})
	wantAWS(t, err, "DecryptionFailure")
	batch := ok(c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"locked"}})).must(t)
	if len(batch.Errors) != 1 || aws.ToString(batch.Errors[0].ErrorCode) != "DecryptionFailure" {
		t.Fatalf("batch read of a secret whose key is disabled: %+v", batch.Errors)
	}
	_, err = c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("locked"), SecretString: aws.String("w")})
	wantAWS(t, err, "EncryptionFailure")
	_, err = c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("new"), SecretString: aws.String("v"), KmsKeyId: aws.String(key)})
	wantAWS(t, err, "EncryptionFailure")

	ok(admin.EnableKey(&kms.EnableKeyRequest{KeyId: tea.String(key)})).must(t)
	if got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("locked")})).must(t); aws.ToString(got.SecretString) != "v" {
		t.Fatalf("read after the key is enabled again: %+v", got)
	}
}

// TestAWSRotateSecret: RotateSecret through AWS's SDK runs Coffer's rotator for the secret (a
// Generic one: a generated password, a webhook told to apply it). While the webhook holds apply,
// the new version is AWSPENDING and AWSCURRENT still the old one; once it answers, the new
// version is AWSCURRENT and the old one AWSPREVIOUS.
func TestAWSRotateSecret(t *testing.T) { forEachBackend(t, testAWSRotateSecret) }

func testAWSRotateSecret(t *testing.T, b backend) {
	s := b.start(t, nil)
	ctx := context.Background()
	admin := s.client(t, "")
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var call generic.Call
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &call)
		if call.Step == "apply" {
			<-release
		}
	}))
	defer hook.Close()
	ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("hook-key"), VersionId: tea.String("v1"), SecretData: tea.String("hook-signing-secret-0123")})).must(t)
	ok(admin.CreateSecret(&kms.CreateSecretRequest{
		SecretName: tea.String("rotated"), VersionId: tea.String("v1"), SecretData: tea.String("initial"),
		ExtendedConfig: map[string]any{"CustomData": map[string]any{"Generator": map[string]any{"PasswordLength": 24}, "WebhookUrl": hook.URL, "WebhookSecretName": "hook-key"}},
	})).must(t)

	c := awsClient(s.url, adminID, adminSecret)
	done := make(chan error, 1)
	go func() {
		_, err := c.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("rotated"), ClientRequestToken: aws.String("r1")})
		done <- err
	}()
	stages := func() map[string][]string {
		return ok(c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("rotated")})).must(t).VersionIdsToStages
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(stages()["r1"], []string{"AWSPENDING"}) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("no AWSPENDING version while apply is held: %v", stages())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("rotated")})).must(t); aws.ToString(got.SecretString) != "initial" {
		t.Fatalf("AWSCURRENT during the rotation = %q, want the old value", aws.ToString(got.SecretString))
	}
	pending := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("rotated"), VersionStage: aws.String("AWSPENDING")}))
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	cur := ok(c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("rotated")})).must(t)
	if aws.ToString(cur.VersionId) != "r1" || len(aws.ToString(cur.SecretString)) != 24 || !slices.Equal(cur.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("after the rotation: version %q, value of %d characters, stages %v", aws.ToString(cur.VersionId), len(aws.ToString(cur.SecretString)), cur.VersionStages)
	}
	if p := pending.must(t); aws.ToString(p.SecretString) != aws.ToString(cur.SecretString) {
		t.Fatal("the AWSPENDING value read during the rotation is not the one promoted")
	}
	if got := stages(); !slices.Equal(got["v1"], []string{"AWSPREVIOUS"}) {
		t.Fatalf("stages after the rotation: %v", got)
	}
}
