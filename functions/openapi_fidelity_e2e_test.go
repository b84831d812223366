package functions_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestOpenAPIFidelity calls, through the official SDK, the parts of Alibaba's API that real
// clients send as Alibaba serves them: secrets named by ARN, BatchGetSecretValue's SecretsList and
// DryRun (issue 15, section 2).
func TestOpenAPIFidelity(t *testing.T) {
	// Both of the Go SDK's signature modes, as issue 15 asks: ACS3 (the default) and RPC v1.
	for name, mode := range map[string]string{"ACS3": "", "RPC": "v2"} {
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) { testOpenAPIFidelity(t, b, mode) })
		})
	}
}

func testOpenAPIFidelity(t *testing.T, b backend, mode string) {
	s := b.start(t, nil)
	admin := s.client(t, mode)
	created := ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("fid/db"), VersionId: tea.String("v1"), SecretData: tea.String("first value")})).must(t)
	ok(admin.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String("fid/db"), VersionId: tea.String("v2"), SecretData: tea.String("second value")})).must(t)
	ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("fid/denied"), VersionId: tea.String("v1"), SecretData: tea.String("denied value"),
		Policy: tea.String(`{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":["kms:GetSecretValue"],"Resource":["*"]}]}`)})).must(t)
	arn := tea.StringValue(created.Body.Arn)

	t.Run("2.1 the ARN Coffer returns names the secret", func(t *testing.T) {
		got := ok(admin.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(arn)})).must(t)
		if tea.StringValue(got.Body.SecretData) != "second value" || tea.StringValue(got.Body.SecretName) != "fid/db" {
			t.Fatalf("GetSecretValue by ARN = %s %s", tea.StringValue(got.Body.SecretName), tea.StringValue(got.Body.VersionId))
		}
		d := ok(admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(arn)})).must(t)
		if tea.StringValue(d.Body.SecretName) != "fid/db" || tea.StringValue(d.Body.Arn) != arn {
			t.Fatalf("DescribeSecret by ARN = %s %s", tea.StringValue(d.Body.SecretName), tea.StringValue(d.Body.Arn))
		}
		// An ARN in Alibaba's own form (region, account) names the same secret.
		got = ok(admin.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("acs:kms:cn-hangzhou:1234567890:secret/fid/db"), VersionId: tea.String("v1")})).must(t)
		if tea.StringValue(got.Body.SecretData) != "first value" {
			t.Fatal("GetSecretValue by an Alibaba ARN read the wrong version")
		}
	})

	t.Run("2.2 BatchGetSecretValue in Alibaba's shape", func(t *testing.T) {
		list := `[{"SecretName":"fid/db"},{"SecretName":"` + arn + `","VersionId":"v1","FetchExtendedConfig":true},` +
			`{"SecretName":"fid/db","VersionStage":"ACSPrevious","FetchExtendedConfig":"false"},{"SecretName":"fid/missing"},{"SecretName":"fid/denied"}]`
		body := ok(call(admin, "BatchGetSecretValue", map[string]string{"SecretsList": list})).must(t)
		var got struct {
			SecretValues []struct{ SecretName, VersionId, SecretData string }
			Errors       []struct {
				SecretName, Code, Message string
				HttpStatus                int
			}
		}
		b, _ := json.Marshal(body)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("the answer is not Alibaba's flat shape: %v in %s", err, b)
		}
		values := fmt.Sprint(got.SecretValues)
		if values != "[{fid/db v2 second value} {fid/db v1 first value} {fid/db v1 first value}]" {
			t.Errorf("SecretValues = %s", values)
		}
		errs := []string{}
		for _, e := range got.Errors {
			errs = append(errs, fmt.Sprintf("%s %d %s", e.SecretName, e.HttpStatus, e.Code))
			if strings.Contains(e.Message, "value") {
				t.Errorf("an error message carries a value: %q", e.Message)
			}
		}
		if fmt.Sprint(errs) != "[fid/missing 404 Forbidden.ResourceNotFound fid/denied 403 Forbidden.NoPermission]" {
			t.Errorf("Errors = %v", errs)
		}
		// The deprecated SecretNames form answers as before.
		old := ok(call(admin, "BatchGetSecretValue", map[string]string{"SecretNames": `["fid/db"]`})).must(t)
		if v := items(t, old, "SecretValues", "SecretValue"); len(v) != 1 || v[0]["SecretData"] != "second value" {
			t.Errorf("SecretNames answered %v", old)
		}
		for _, bad := range []struct{ name, list string }{
			{"not a list", `{"SecretName":"fid/db"}`},
			{"bad flag", `[{"SecretName":"fid/db","FetchExtendedConfig":"yes"}]`},
			{"repeated", `[{"SecretName":"fid/db"},{"SecretName":"` + arn + `"}]`},
			{"too many", "[" + strings.TrimSuffix(strings.Repeat(`{"SecretName":"x"},`, 21), ",") + "]"},
		} {
			_, err := call(admin, "BatchGetSecretValue", map[string]string{"SecretsList": bad.list})
			wantCode(t, err, 400, "InvalidParameter")
		}
		_, err := call(admin, "BatchGetSecretValue", map[string]string{"SecretsList": `[{"SecretName":"fid/db"}]`, "SecretNames": `["fid/db"]`})
		wantCode(t, err, 400, "InvalidParameter")
		_, err = call(admin, "BatchGetSecretValue", map[string]string{"SecretsList": `[]`})
		wantCode(t, err, 400, "MissingParameter")
	})

	t.Run("2.3 DryRun always fails and never answers data", func(t *testing.T) {
		key := ok(admin.CreateKey(&kms.CreateKeyRequest{})).must(t)
		keyID := tea.StringValue(key.Body.KeyMetadata.KeyId)
		cases := []struct {
			name, action string
			query        map[string]string
			status       int
			code         string
		}{
			{"would succeed", "GetSecretValue", map[string]string{"SecretName": "fid/db"}, 400, "DryRunOperationError"},
			{"by ARN", "GetSecretValue", map[string]string{"SecretName": arn, "DryRun": "True"}, 400, "DryRunOperationError"},
			{"invalid name", "GetSecretValue", map[string]string{"SecretName": "bad name!"}, 400, "ValidationError"},
			{"missing name", "GetSecretValue", map[string]string{}, 400, "ValidationError"},
			{"denied", "GetSecretValue", map[string]string{"SecretName": "fid/denied"}, 403, "AccessDeniedError"},
			{"not found", "GetSecretValue", map[string]string{"SecretName": "fid/missing"}, 404, "Forbidden.ResourceNotFound"},
			{"encrypt", "Encrypt", map[string]string{"KeyId": keyID, "Plaintext": "aGk="}, 400, "DryRunOperationError"},
			{"data key", "GenerateDataKey", map[string]string{"KeyId": keyID}, 400, "DryRunOperationError"},
			{"encrypt with a missing key", "Encrypt", map[string]string{"KeyId": "key-nope", "Plaintext": "aGk="}, 404, "Forbidden.KeyNotFound"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, ok := tc.query["DryRun"]; !ok {
					tc.query["DryRun"] = "true"
				}
				body, err := call(admin, tc.action, tc.query)
				if body != nil {
					t.Fatalf("a dry run answered data: %v", body)
				}
				wantCode(t, err, tc.status, tc.code)
				if strings.Contains(err.Error(), "value") {
					t.Fatalf("the dry run's error carries a value: %v", err)
				}
			})
		}
		// The typed SDK request sends DryRun too.
		_, err := admin.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("fid/db"), DryRun: tea.String("true")})
		wantCode(t, err, 400, "DryRunOperationError")
		_, err = call(admin, "GetSecretValue", map[string]string{"SecretName": "fid/db", "DryRun": "maybe"})
		wantCode(t, err, 400, "InvalidParameter")
		got := ok(admin.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("fid/db"), DryRun: tea.String("false")})).must(t)
		if tea.StringValue(got.Body.SecretData) != "second value" {
			t.Fatal("DryRun=false did not read the value")
		}
	})

	t.Run("2.4 ListSecrets filters by instance, type and creator", func(t *testing.T) {
		end := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05Z")
		inst, _ := ok(call(admin, "CreateKmsInstance", map[string]string{"KmsInstanceName": "fid", "EndDate": end})).must(t)["KmsInstanceId"].(string)
		key := ok(admin.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(inst)})).must(t)
		ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("fid/in-instance"), VersionId: tea.String("v1"), SecretData: tea.String("x"),
			DKMSInstanceId: tea.String(inst), EncryptionKeyId: key.Body.KeyMetadata.KeyId})).must(t)
		names := func(filters string) string {
			t.Helper()
			list := ok(admin.ListSecrets(&kms.ListSecretsRequest{Filters: tea.String(filters), PageSize: tea.Int32(100)})).must(t)
			var out []string
			for _, s := range list.Body.SecretList.Secret {
				out = append(out, tea.StringValue(s.SecretName))
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct{ filters, want string }{
			{`[{"Key":"DKMSInstanceId","Values":["` + inst + `"]}]`, "fid/in-instance"},
			{`[{"Key":"DKMSInstanceId","Values":["kst-other","` + inst + `"]}]`, "fid/in-instance"},
			{`[{"Key":"DKMSInstanceId","Values":["` + inst[:len(inst)-2] + `"]}]`, ""}, // exact, not a substring
			{`[{"Key":"SecretType","Values":["Generic"]}]`, "fid/db,fid/denied,fid/in-instance"},
			{`[{"Key":"SecretType","Values":["RDS","Redis"]}]`, ""},
			{`[{"Key":"Creator","Values":["` + adminID + `"]},{"Key":"SecretName","Values":["fid/d"]}]`, "fid/db,fid/denied"},
			{`[{"Key":"Creator","Values":["someone-else"]}]`, ""},
			{`[{"Key":"SecretName","Values":["fid/"]},{"Key":"SecretName","Values":["db"]}]`, "fid/db"}, // filters AND
		} {
			if got := names(c.filters); got != c.want {
				t.Errorf("%s: listed %q, want %q", c.filters, got, c.want)
			}
		}
		ten := "[" + strings.TrimSuffix(strings.Repeat(`{"Key":"SecretName","Values":["fid"]},`, 10), ",") + "]"
		if got := names(ten); got != "fid/db,fid/denied,fid/in-instance" {
			t.Errorf("ten filters listed %q", got)
		}
		_, err := admin.ListSecrets(&kms.ListSecretsRequest{Filters: tea.String("[" + strings.Repeat(`{"Key":"SecretName","Values":["fid"]},`, 10) + `{"Key":"SecretName","Values":["fid"]}]`)})
		wantCode(t, err, 400, "InvalidParameter")
	})

	t.Run("2.9 tags on keys, tag listings, regions and the default instance", func(t *testing.T) {
		k := tea.StringValue(ok(admin.CreateKey(&kms.CreateKeyRequest{})).must(t).Body.KeyMetadata.KeyId)
		ok(admin.TagResource(&kms.TagResourceRequest{KeyId: tea.String(k), Tags: tea.String(`[{"TagKey":"team","TagValue":"blue"},{"TagKey":"env","TagValue":"prod"}]`)})).must(t)
		ok(admin.UntagResource(&kms.UntagResourceRequest{KeyId: tea.String(k), TagKeys: tea.String(`["env"]`)})).must(t)
		rt := ok(admin.ListResourceTags(&kms.ListResourceTagsRequest{KeyId: tea.String(k)})).must(t)
		if tags := rt.Body.Tags.Tag; len(tags) != 1 || tea.StringValue(tags[0].TagKey) != "team" || tea.StringValue(tags[0].TagValue) != "blue" || tea.StringValue(tags[0].KeyId) != k {
			t.Fatalf("ListResourceTags = %s", jsonOf(rt.Body))
		}
		ok(admin.TagResources(&kms.TagResourcesRequest{ResourceType: tea.String("key"), ResourceId: []*string{tea.String(k)}, Tag: []*kms.TagResourcesRequestTag{{Key: tea.String("tier"), Value: tea.String("1")}}})).must(t)
		list := ok(admin.ListTagResources(&kms.ListTagResourcesRequest{ResourceType: tea.String("key"), ResourceId: []*string{tea.String(k)}})).must(t)
		if n := len(list.Body.TagResources.TagResource); n != 2 || tea.StringValue(list.Body.TagResources.TagResource[0].ResourceType) != "key" {
			t.Fatalf("ListTagResources of the key = %s", jsonOf(list.Body))
		}
		_, err := admin.ListResourceTags(&kms.ListResourceTagsRequest{KeyId: tea.String("key-nope")})
		wantCode(t, err, 404, "Forbidden.KeyNotFound")

		// Without ResourceId: every resource of the type, filtered by Tag.N, paged by NextToken.
		for i := range 55 {
			name := fmt.Sprintf("fid/tagged-%02d", i)
			ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("x"),
				Tags: tea.String(fmt.Sprintf(`[{"TagKey":"batch","TagValue":"%d"}]`, i%2))})).must(t)
		}
		seen, token, pages := map[string]bool{}, "", 0
		for {
			req := &kms.ListTagResourcesRequest{ResourceType: tea.String("secret"), Tag: []*kms.ListTagResourcesRequestTag{{Key: tea.String("batch")}}}
			if token != "" {
				req.NextToken = tea.String(token)
			}
			page := ok(admin.ListTagResources(req)).must(t)
			pages++
			for _, r := range page.Body.TagResources.TagResource {
				seen[tea.StringValue(r.ResourceId)] = true
			}
			if token = tea.StringValue(page.Body.NextToken); token == "" {
				break
			}
		}
		if len(seen) != 55 || pages != 2 {
			t.Fatalf("listed %d tagged secrets in %d pages, want 55 in 2", len(seen), pages)
		}
		odd := ok(admin.ListTagResources(&kms.ListTagResourcesRequest{ResourceType: tea.String("secret"), Tag: []*kms.ListTagResourcesRequestTag{{Key: tea.String("batch"), Value: tea.String("1")}}})).must(t)
		if n := len(odd.Body.TagResources.TagResource); n != 27 {
			t.Fatalf("Tag.1.Value=1 listed %d, want 27", n)
		}
		_, err = call(admin, "ListTagResources", map[string]string{"ResourceType": "secret", "NextToken": "x"})
		wantCode(t, err, 400, "InvalidParameter")
		_, err = call(admin, "ListTagResources", map[string]string{"ResourceType": "certificate"})
		wantCode(t, err, 400, "InvalidParameter")

		regions := ok(admin.DescribeRegions()).must(t)
		if r := regions.Body.Regions.Region; len(r) != 1 || tea.StringValue(r[0].RegionId) != "coffer" || !strings.Contains(arn, ":coffer:") {
			t.Fatalf("DescribeRegions = %s", jsonOf(regions.Body))
		}
		def := ok(call(admin, "GetDefaultKmsInstance", nil)).must(t)
		if id, present := def["DefaultKmsInstanceId"]; !present || id != "" {
			t.Fatalf("GetDefaultKmsInstance = %v", def)
		}
	})

	t.Run("2.9 a tag listing shows only what the caller may see", func(t *testing.T) {
		ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("fid/hidden"), VersionId: tea.String("v1"), SecretData: tea.String("x"),
			Tags:   tea.String(`[{"TagKey":"batch","TagValue":"hidden"}]`),
			Policy: tea.String(`{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":["kms:ListTagResources"],"Resource":["*"]}]}`)})).must(t)
		for _, st := range []map[string]string{
			{"action": "CreateNetworkRule", "Name": "fid-any", "SourcePrivateIp": `["0.0.0.0/0","::/0"]`},
			{"action": "CreatePolicy", "Name": "fid-all", "Permissions": `["CofferSecretManager"]`, "Resources": `["secret/*"]`, "AccessControlRules": `{"NetworkRules":["fid-any"]}`},
			{"action": "CreatePolicy", "Name": "fid-one", "Permissions": `["CofferSecretManager"]`, "Resources": `["secret/fid/db"]`, "AccessControlRules": `{"NetworkRules":["fid-any"]}`},
			{"action": "CreateApplicationAccessPoint", "Name": "fid-all", "AuthenticationMethod": "AccessKey", "Policies": `["fid-all"]`},
			{"action": "CreateApplicationAccessPoint", "Name": "fid-one", "AuthenticationMethod": "AccessKey", "Policies": `["fid-one"]`},
		} {
			q := map[string]string{}
			for k, v := range st {
				if k != "action" {
					q[k] = v
				}
			}
			ok(call(admin, st["action"], q)).must(t)
		}
		allKey := accessKey(t, admin, map[string]string{"AapName": "fid-all"})
		oneKey := accessKey(t, admin, map[string]string{"AapName": "fid-one"})
		all := sdkClient(t, allKey.id, allKey.secret, s.host, "")
		one := sdkClient(t, oneKey.id, oneKey.secret, s.host, "")
		listed := func(c *kms.Client) (map[string]bool, error) {
			seen := map[string]bool{}
			req := &kms.ListTagResourcesRequest{ResourceType: tea.String("secret")}
			for {
				page, err := c.ListTagResources(req)
				if err != nil {
					return nil, err
				}
				for _, r := range page.Body.TagResources.TagResource {
					seen[tea.StringValue(r.ResourceId)] = true
				}
				if tea.StringValue(page.Body.NextToken) == "" {
					return seen, nil
				}
				req.NextToken = page.Body.NextToken
			}
		}
		seen := ok(listed(all)).must(t)
		if seen["fid/hidden"] || !seen["fid/tagged-00"] {
			t.Fatalf("a caller denied by the secret's policy sees it listed, or sees nothing: %v", seen)
		}
		if ok(listed(admin)).must(t)["fid/hidden"] == false {
			t.Fatal("the admin does not see the secret in the listing")
		}
		// A caller scoped to one secret may not list every secret's tags.
		_, err := listed(one)
		wantCode(t, err, 403, "Forbidden.NoPermission")
		_, err = one.ListTagResources(&kms.ListTagResourcesRequest{ResourceType: tea.String("secret"), ResourceId: []*string{tea.String("fid/db")}})
		if err != nil {
			t.Fatalf("the scoped caller cannot list its own secret's tags: %v", err)
		}
		_, err = one.ListTagResources(&kms.ListTagResourcesRequest{ResourceType: tea.String("key")})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		_, err = one.DescribeRegions()
		wantCode(t, err, 403, "Forbidden.NoPermission")
	})

	t.Run("2.10 GetKmsInstance's fields and Recommend in errors", func(t *testing.T) {
		end := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05Z")
		id, _ := ok(call(admin, "CreateKmsInstance", map[string]string{"KmsInstanceName": "fields", "EndDate": end})).must(t)["KmsInstanceId"].(string)
		inst := ok(admin.GetKmsInstance(&kms.GetKmsInstanceRequest{KmsInstanceId: tea.String(id)})).must(t).Body.KmsInstance
		if tea.StringValue(inst.InstanceName) != "fields" || tea.StringValue(inst.Status) != "Connected" || tea.StringValue(inst.EndDate) != end ||
			inst.BindVpcs == nil || inst.BindVpcs.BindVpc == nil || tea.Int64Value(inst.VpcNum) != 0 || inst.VpcId == nil {
			t.Fatalf("GetKmsInstance = %s", jsonOf(inst))
		}
		// The fields only the v4 model has, as it would decode them.
		var v4 struct {
			KmsInstance struct {
				ChargeType, ProductVersion string
				DeletionProtection         *bool
			}
		}
		b, _ := json.Marshal(ok(call(admin, "GetKmsInstance", map[string]string{"KmsInstanceId": id})).must(t))
		if err := json.Unmarshal(b, &v4); err != nil || v4.KmsInstance.ChargeType != "PREPAY" || v4.KmsInstance.ProductVersion != "3" ||
			v4.KmsInstance.DeletionProtection == nil || *v4.KmsInstance.DeletionProtection {
			t.Fatalf("GetKmsInstance (v4 fields) = %s", b)
		}
		_, err := admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("fid/missing")})
		var se *tea.SDKError
		if !errors.As(err, &se) || !strings.Contains(tea.StringValue(se.Data), `"Recommend":"See Forbidden.ResourceNotFound in the Errors table`) {
			t.Fatalf("the error carries no Recommend: %v", err)
		}
	})
}
