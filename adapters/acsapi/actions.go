package acsapi

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// Action serves one OpenAPI action: it reads parameters, calls core, and returns the response
// body (RequestId is added by the handler).
type Action func(ctx context.Context, svc *core.Service, p Params) (any, error)

// ReadAction serves a signed read: it claims call's nonce in the store round trip that reads its
// secrets and authorizes each secret on the metadata read (core.Service.ReadSecretValues), so a
// GetSecretValue costs one Redis round trip. The Handler leaves the nonce unclaimed and the
// authorization to it, and passes it the call.
type ReadAction func(ctx context.Context, svc *core.Service, call core.SignedRead, p Params) (any, error)

// Actions is the table of the actions a function serves, by name: Calls the Handler claims and
// authorizes before serving, Reads the signed reads it hands their call.
type Actions struct {
	Calls map[string]Action
	Reads map[string]ReadAction
}

// Serves reports whether name is in the table.
func (a Actions) Serves(name string) bool {
	_, call := a.Calls[name]
	_, read := a.Reads[name]
	return call || read
}

// readActions are the signed reads.
func readActions() map[string]ReadAction {
	return map[string]ReadAction{"GetSecretValue": getSecretValue, "BatchGetSecretValue": batchGetSecretValue}
}

// ReadActions is the hot read path served by getSecret: read and decrypt, nothing else.
func ReadActions() Actions {
	return Actions{Reads: readActions()}
}

// ManageActions are the actions manageSecrets serves: every action except the rotation ones.
func ManageActions() Actions {
	return Actions{Reads: readActions(), Calls: map[string]Action{
		"CreateSecret":             createSecret,
		"PutSecretValue":           putSecretValue,
		"UpdateSecretVersionStage": updateSecretVersionStage,
		"UpdateSecret":             updateSecret,
		"DescribeSecret":           describeSecret,
		"ListSecrets":              listSecrets,
		"ListSecretVersionIds":     listSecretVersionIds,
		"DeleteSecret":             deleteSecret,
		"RestoreSecret":            restoreSecret,
		"GetRandomPassword":        getRandomPassword,
		"TagResource":              tagResource,
		"UntagResource":            untagResource,
		"TagResources":             tagResources,
		"UntagResources":           untagResources,
		"ListTagResources":         listTagResources,
		"ListResourceTags":         listResourceTags,
		"DescribeRegions":          describeRegions,
		"GetDefaultKmsInstance":    getDefaultKmsInstance,
		"CreateKey":                createKey,
		"DescribeKey":              describeKey,
		"ListKeys":                 listKeys,
		"CreateKmsInstance":        createKmsInstance,
		"GetKmsInstance":           getKmsInstance,
		"ListKmsInstances":         listKmsInstances,
		"RenewKmsInstance":         renewKmsInstance,
		"ReleaseKmsInstance":       releaseKmsInstance,
		"EnableKey":                enableKey,
		"DisableKey":               disableKey,
		"ScheduleKeyDeletion":      scheduleKeyDeletion,
		"CancelKeyDeletion":        cancelKeyDeletion,
		"UpdateRotationPolicy":     updateRotationPolicy,
		"Encrypt":                  encrypt,
		"Decrypt":                  decrypt,
		"GenerateDataKey":          generateDataKey,
		"CreateBackup":             createBackup,
		"ListBackups":              listBackups,
		"RestoreBackup":            restoreBackup,
		checkPermissionsAction:     checkPermissions,
	}}
}

// Merge returns the union of action sets; the local emulator serves every set on one path.
func Merge(sets ...Actions) Actions {
	out := Actions{Calls: map[string]Action{}, Reads: map[string]ReadAction{}}
	for _, s := range sets {
		maps.Copy(out.Calls, s.Calls)
		maps.Copy(out.Reads, s.Reads)
	}
	return out
}

// arnPrefix stands where Alibaba puts region and account: a self-hosted service has neither.
const arnPrefix = "acs:kms:" + deploymentRegion + ":coffer:secret/"

// normalizeSecretName replaces a SecretName given as an ARN by the name it holds, before the call
// is authorized, so that the authorization, the action and its answer all see the same name.
func normalizeSecretName(p Params) {
	if v, ok := p["SecretName"]; ok {
		p["SecretName"] = secretName(v)
	}
}

// Wrapper objects mirror the XML-derived shapes the SDKs decode.
type (
	stageList struct {
		VersionStage []string `json:"VersionStage"`
	}
	tagItem struct {
		TagKey   string `json:"TagKey"`
		TagValue string `json:"TagValue"`
	}
	tagList struct {
		Tag []tagItem `json:"Tag"`
	}
)

func stages(v core.Version) stageList {
	if v.Stages == nil {
		return stageList{VersionStage: []string{}}
	}
	return stageList{VersionStage: v.Stages}
}

func tags(ts []core.Tag) *tagList {
	out := &tagList{Tag: make([]tagItem, len(ts))}
	for i, t := range ts {
		out.Tag[i] = tagItem{TagKey: t.Key, TagValue: t.Value}
	}
	return out
}

// timeOrEmpty formats t, or "" for the zero time, as the SDKs expect a string either way.
func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return FormatTime(t)
}

// rotationFields are the fields managed secrets add to several responses.
type rotationFields struct {
	AutomaticRotation string `json:"AutomaticRotation,omitempty"`
	RotationInterval  string `json:"RotationInterval,omitempty"`
	LastRotationDate  string `json:"LastRotationDate,omitempty"`
	NextRotationDate  string `json:"NextRotationDate,omitempty"`
}

func rotation(s *core.Secret) rotationFields {
	if !s.Type.Managed() {
		return rotationFields{}
	}
	r := rotationFields{AutomaticRotation: "Disabled", LastRotationDate: timeOrEmpty(s.Rotation.LastRotation)}
	if s.Rotation.Enabled {
		r.AutomaticRotation = "Enabled"
		r.RotationInterval = core.FormatRotationInterval(s.Rotation.Interval)
		r.NextRotationDate = timeOrEmpty(s.Rotation.NextRotation)
	}
	return r
}

// parseTags reads the Tags parameter, a JSON array of {TagKey, TagValue}.
func parseTags(p Params, name string) ([]core.Tag, error) {
	var items []tagItem
	if _, err := p.JSON(name, &items); err != nil {
		return nil, err
	}
	out := make([]core.Tag, len(items))
	for i, t := range items {
		out[i] = core.Tag{Key: t.TagKey, Value: t.TagValue}
	}
	return out, nil
}

// parseStages accepts VersionStages as a JSON array or as {"VersionStage":[...]}; nil when absent.
func parseStages(p Params) ([]string, error) {
	v := strings.TrimSpace(p.String("VersionStages"))
	if v == "" {
		return nil, nil
	}
	if strings.HasPrefix(v, "{") {
		var w stageList
		if _, err := p.JSON("VersionStages", &w); err != nil {
			return nil, err
		}
		if w.VersionStage == nil {
			return nil, core.Invalid("VersionStages", "the object form needs a VersionStage array")
		}
		return w.VersionStage, nil
	}
	var list []string
	_, err := p.JSON("VersionStages", &list)
	if list == nil && err == nil {
		list = []string{}
	}
	return list, err
}

// parseTime reads an ISO-8601 UTC time parameter.
func parseTime(p Params, name string) (time.Time, error) {
	v := p.String(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, core.Invalid(name, "use the form 2006-01-02T15:04:05Z")
	}
	return t.UTC(), nil
}

// customData reads UpdateSecret's custom data in either wire form: flattened
// ExtendedConfig.CustomData.k=v keys (the SDK) or one JSON object (the 2021 docs).
func customData(p Params) (map[string]string, error) {
	out := p.Map("ExtendedConfig.CustomData")
	if _, ok := p["ExtendedConfig.CustomData"]; ok {
		var obj map[string]any
		if _, err := p.JSON("ExtendedConfig.CustomData", &obj); err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]string{}
		}
		for k, v := range obj {
			if s, ok := v.(string); ok {
				out[k] = s
			} else {
				b, _ := json.Marshal(v)
				out[k] = string(b)
			}
		}
	}
	return out, nil
}

// empty is the response of actions that answer with RequestId alone.
type empty struct{}

// paging reads PageNumber (from 1) and PageSize (1 to 100, default 10), as every list action
// takes them.
func paging(p Params) (number, size int, err error) {
	if number, err = p.Int("PageNumber", 1, 1, 1<<30); err != nil {
		return 0, 0, err
	}
	size, err = p.Int("PageSize", 10, 1, 100)
	return number, size, err
}

// pageBounds returns the slice bounds of a page over total items.
func pageBounds(p Params, total int) (number, size, start, end int, err error) {
	if number, size, err = paging(p); err != nil {
		return
	}
	start = min((number-1)*size, total)
	end = min(start+size, total)
	return
}

// ExpiryActions is what the expiryCheck function serves over HTTP: one action that runs a check
// now and answers with its report. run is the function's entry point, which also logs.
func ExpiryActions(run func(context.Context) (*core.ExpiryReport, error)) Actions {
	return Actions{Calls: map[string]Action{"RunExpiryCheck": func(ctx context.Context, _ *core.Service, _ Params) (any, error) {
		r, err := run(ctx)
		if err != nil {
			return nil, err
		}
		return struct {
			Report *core.ExpiryReport `json:"Report"`
		}{r}, nil
	}}}
}
