package acsapi

import (
	"cmp"
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
	"BatchGetSecretValue":        batchResources, // needs kms:GetSecretValue (sameAs)
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
	"CancelSecretRotation":       secretParam,
	"ListSecrets":                listing, // shows what the caller may see (core.View)
	"GetRandomPassword":          fixed(),
	"TagResource":                tagTargetParam,
	"UntagResource":              tagTargetParam,
	"TagResources":               resourceIDs,
	"UntagResources":             resourceIDs,
	"ListTagResources":           resourceIDs, // without ids: kind/*, and only what core.View shows
	"ListResourceTags":           keyParam,
	"DescribeRegions":            fixed(), // names no resource and tells nothing of any
	"GetDefaultKmsInstance":      fixed(),
	"CreateKey":                  fixed("key/*"),
	"DescribeKey":                keyParam,
	"Encrypt":                    keyParam,
	"GenerateDataKey":            keyParam,
	"Decrypt":                    ciphertextKey, // the key named inside the blob
	"ListKeys":                   listing,
	"GetKmsInstance":             instanceParam,
	"ListKmsInstances":           listing,
}

// listing marks the list actions: authorized by core.Service.View, which filters their objects.
func listing(Params) ([]string, error) { return nil, nil }

// listings are the actions whose resourcesOf is listing.
var listings = map[string]bool{"ListSecrets": true, "ListKeys": true, "ListKmsInstances": true}

// createsIn returns, for an action that creates its resource, the instance it is created in
// ("" for the shared pool), so that a policy scoped to an instance may create there.
func createsIn(action string, p Params) *string {
	if action != "CreateSecret" && action != "CreateKey" {
		return nil
	}
	id := p.String("DKMSInstanceId")
	return &id
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
	return permissionNames[action], resources, err
}

// permissionNames is the permission of each action in permissions, "kms:" + the action or the
// action it is sameAs, made once rather than on every call.
var permissionNames = func() map[string]string {
	names := make(map[string]string, len(permissions))
	for action := range permissions {
		names[action] = "kms:" + cmp.Or(sameAs[action], action)
	}
	return names
}()

func fixed(resources ...string) resourcesOf {
	return func(Params) ([]string, error) { return resources, nil }
}

// secretParam reads SecretName, which may be an ARN (acs:kms:<region>:<account>:secret/<name>).
func secretParam(p Params) ([]string, error) {
	return one(secretResource(secretName(p.String("SecretName"))))
}

func one(r string, err error) ([]string, error) { return []string{r}, err }

// secretResource names the secret name as a resource, once the name is valid: a call is refused
// on its parameters before any policy pattern is matched against them.
func secretResource(name string) (string, error) {
	if name != core.AutoSecretName {
		if err := core.ValidateSecretName(name); err != nil {
			return "", err
		}
	}
	return "secret/" + name, nil
}

// maxIDLen bounds the key and instance ids a call names; Coffer's are far shorter.
const maxIDLen = 128

func idResource(kind, field, id string) (string, error) {
	if len(id) > maxIDLen {
		return "", core.Invalid(field, "at most %d characters", maxIDLen)
	}
	return kind + "/" + id, nil
}

func secretName(s string) string {
	if strings.HasPrefix(s, "acs:kms:") {
		if _, name, ok := strings.Cut(s, ":secret/"); ok {
			return name
		}
	}
	return s
}

func keyParam(p Params) ([]string, error) { return one(idResource("key", "KeyId", p.String("KeyId"))) }

func instanceParam(p Params) ([]string, error) {
	return one(idResource("instance", "KmsInstanceId", p.String("KmsInstanceId")))
}

func instanceOrAll(p Params) ([]string, error) {
	if p.String("KmsInstanceId") == "" {
		return []string{"instance/*"}, nil
	}
	return instanceParam(p)
}

func tagTargetParam(p Params) ([]string, error) {
	if id := p.String("KeyId"); id != "" {
		return one(idResource("key", "KeyId", id))
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
			out[i], err = secretResource(secretName(id))
		} else {
			out[i], err = idResource(kind, "ResourceId", id)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
