package acsapi

import (
	"strings"

	"github.com/seed-4eefd85e/coffer/core"
)

// resourcesOf reads, from an action's parameters alone, the resources the action touches, so a
// call is authorized before anything is looked up.
type resourcesOf func(Params) ([]string, error)

// permissions lists every action a non-admin policy can grant, with the resources it touches; the
// permission is "kms:" + the action. An action missing here needs core.AdminPermission, so a new
// action is admin-only until it gets a row.
var permissions = map[string]resourcesOf{
	"CreateSecret":               secretParam,
	"GetSecretValue":             secretParam,
	"BatchGetSecretValue":        secretNamesResources, // needs kms:GetSecretValue (sameAs)
	"PutSecretValue":             secretParam,
	"UpdateSecretVersionStage":   secretParam,
	"UpdateSecret":               secretParam,
	"DescribeSecret":             secretParam,
	"ListSecretVersionIds":       secretParam,
	"DeleteSecret":               secretParam,
	"RestoreSecret":              secretParam,
	"GetSecretPolicy":            secretParam,
	"SetSecretPolicy":            secretParam,
	"RotateSecret":               secretParam,
	"UpdateSecretRotationPolicy": secretParam,
	"ListSecrets":                fixed("secret/*"), // names every secret
	"GetRandomPassword":          fixed(),
	"TagResource":                tagTargetParam,
	"UntagResource":              tagTargetParam,
	"TagResources":               resourceIDs,
	"UntagResources":             resourceIDs,
	"ListTagResources":           resourceIDs,
	"CreateKey":                  fixed("key/*"),
	"DescribeKey":                keyParam,
	"Encrypt":                    keyParam,
	"GenerateDataKey":            keyParam,
	"Decrypt":                    ciphertextKey, // the key named inside the blob
	"ListKeys":                   fixed("key/*"),
	"GetKmsInstance":             instanceParam,
	"ListKmsInstances":           fixed("instance/*"),
}

// sameAs maps extension actions to the action whose permission they need, so policies and RBAC
// templates that grant the one grant the other.
var sameAs = map[string]string{"BatchGetSecretValue": "GetSecretValue"}

// adminResources names the instance that admin-only backup actions act on, so that an admin
// policy scoped to instance/<id> covers them for that instance alone; without KmsInstanceId they
// act on every instance. RestoreBackup names its target here; the action checks the instance
// the backup was taken from.
var adminResources = map[string]resourcesOf{
	"CreateBackup":  instanceOrAll,
	"ListBackups":   instanceOrAll,
	"RestoreBackup": instanceOrAll,
}

// Permission returns what a call of action needs: the permission and the resources.
func Permission(action string, p Params) (string, []string, error) {
	of, ok := permissions[action]
	if !ok {
		if of, ok := adminResources[action]; ok {
			resources, err := of(p)
			return core.AdminPermission, resources, err
		}
		return core.AdminPermission, nil, nil
	}
	resources, err := of(p)
	if a, ok := sameAs[action]; ok {
		action = a
	}
	return "kms:" + action, resources, err
}

func fixed(resources ...string) resourcesOf {
	return func(Params) ([]string, error) { return resources, nil }
}

// secretParam reads SecretName, which may be an ARN (acs:kms:<region>:<account>:secret/<name>).
func secretParam(p Params) ([]string, error) {
	return []string{"secret/" + secretName(p.String("SecretName"))}, nil
}

func secretName(s string) string {
	if strings.HasPrefix(s, "acs:kms:") {
		if _, name, ok := strings.Cut(s, ":secret/"); ok {
			return name
		}
	}
	return s
}

func keyParam(p Params) ([]string, error) { return []string{"key/" + p.String("KeyId")}, nil }

func instanceParam(p Params) ([]string, error) {
	return []string{"instance/" + p.String("KmsInstanceId")}, nil
}

func instanceOrAll(p Params) ([]string, error) {
	if p.String("KmsInstanceId") == "" {
		return []string{"instance/*"}, nil
	}
	return instanceParam(p)
}

func tagTargetParam(p Params) ([]string, error) {
	if id := p.String("KeyId"); id != "" {
		return []string{"key/" + id}, nil
	}
	return secretParam(p)
}

// resourceIDs reads ResourceType and ResourceId.N; without ids the call lists every resource of
// the type.
func resourceIDs(p Params) ([]string, error) {
	kind := p.String("ResourceType")
	if kind != "key" {
		kind = "secret"
	}
	ids, err := p.Indexed("ResourceId")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []string{kind + "/*"}, nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		if kind == "secret" {
			id = secretName(id)
		}
		out[i] = kind + "/" + id
	}
	return out, nil
}
