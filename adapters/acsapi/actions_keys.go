package acsapi

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// keyArn names a key as Alibaba's ARNs do.
func keyArn(id string) string { return "acs:kms:coffer:coffer:key/" + id }

func keyMetadata(k *core.Key) any {
	m := struct {
		KeyId             string `json:"KeyId"`
		Arn               string `json:"Arn"`
		KeyState          string `json:"KeyState"`
		KeySpec           string `json:"KeySpec"`
		KeyUsage          string `json:"KeyUsage"`
		Origin            string `json:"Origin"`
		ProtectionLevel   string `json:"ProtectionLevel"`
		CreationDate      string `json:"CreationDate"`
		DeleteDate        string `json:"DeleteDate,omitempty"`
		Description       string `json:"Description"`
		DKMSInstanceId    string `json:"DKMSInstanceId"`
		PrimaryKeyVersion string `json:"PrimaryKeyVersion"`
		AutomaticRotation string `json:"AutomaticRotation"`
		RotationInterval  string `json:"RotationInterval,omitempty"`
		NextRotationDate  string `json:"NextRotationDate,omitempty"`
		Creator           string `json:"Creator"`
	}{
		KeyId: k.ID, Arn: keyArn(k.ID), KeyState: string(k.State), KeySpec: "Aliyun_AES_256", KeyUsage: "ENCRYPT/DECRYPT",
		Origin: "Aliyun_KMS", ProtectionLevel: "SOFTWARE", CreationDate: FormatTime(k.CreateTime), DeleteDate: timeOrEmpty(k.DeleteDate),
		Description: k.Description, DKMSInstanceId: k.InstanceID, PrimaryKeyVersion: k.Primary().ID, AutomaticRotation: "Disabled", Creator: "coffer",
	}
	if k.RotationInterval > 0 {
		m.AutomaticRotation = "Enabled"
		m.RotationInterval = strconv.FormatInt(int64(k.RotationInterval/time.Second), 10) + "s"
		m.NextRotationDate = FormatTime(k.Primary().CreateTime.Add(k.RotationInterval))
	}
	return m
}

func createKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	if err := refuseUnserved(p, map[string]string{
		"KeySpec":         "Aliyun_AES_256",
		"KeyUsage":        "ENCRYPT/DECRYPT",
		"Origin":          "Aliyun_KMS",
		"ProtectionLevel": "SOFTWARE",
	}, "Policy", "Tags"); err != nil {
		return nil, err
	}
	iv, err := keyRotation(p)
	if err != nil {
		return nil, err
	}
	k, err := svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: p.String("DKMSInstanceId"), Description: p.String("Description"), RotationInterval: iv})
	if err != nil {
		return nil, err
	}
	return struct {
		KeyMetadata any `json:"KeyMetadata"`
	}{keyMetadata(k)}, nil
}

func describeKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	k, err := svc.DescribeKey(ctx, p.String("KeyId"))
	if err != nil {
		return nil, err
	}
	return struct {
		KeyMetadata any `json:"KeyMetadata"`
	}{keyMetadata(k)}, nil
}

func listKeys(ctx context.Context, svc *core.Service, p Params) (any, error) {
	if err := refuseUnserved(p, nil, "Filters"); err != nil {
		return nil, err
	}
	v, err := view(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := svc.ListKeys(ctx, "")
	if err != nil {
		return nil, err
	}
	keys = slices.DeleteFunc(keys, func(k *core.Key) bool { return !v.Key(k) })
	type item struct {
		KeyId  string `json:"KeyId"`
		KeyArn string `json:"KeyArn"`
	}
	return listPage(p, keys, "Keys", "Key", func(k *core.Key) any { return item{k.ID, keyArn(k.ID)} })
}

// keyAction runs a key state change that answers with RequestId alone.
func keyAction(change func(*core.Service, context.Context, string) error) Action {
	return func(ctx context.Context, svc *core.Service, p Params) (any, error) {
		return empty{}, change(svc, ctx, p.String("KeyId"))
	}
}

var (
	enableKey         = keyAction((*core.Service).EnableKey)
	disableKey        = keyAction((*core.Service).DisableKey)
	cancelKeyDeletion = keyAction((*core.Service).CancelKeyDeletion)
)

func scheduleKeyDeletion(ctx context.Context, svc *core.Service, p Params) (any, error) {
	if _, err := p.Required("PendingWindowInDays"); err != nil {
		return nil, err
	}
	days, err := p.Int("PendingWindowInDays", 0, core.MinKeyDeletionDays, core.MaxKeyDeletionDays)
	if err != nil {
		return nil, err
	}
	_, err = svc.ScheduleKeyDeletion(ctx, p.String("KeyId"), days)
	return empty{}, err
}

// keyRotation reads EnableAutomaticRotation and RotationInterval; 0 means no rotation.
func keyRotation(p Params) (time.Duration, error) {
	on, err := p.Bool("EnableAutomaticRotation", false)
	if err != nil || !on {
		return 0, err
	}
	return core.ParseKeyRotationInterval(p.String("RotationInterval"))
}

func updateRotationPolicy(ctx context.Context, svc *core.Service, p Params) (any, error) {
	if _, err := p.Required("EnableAutomaticRotation"); err != nil {
		return nil, err
	}
	iv, err := keyRotation(p)
	if err != nil {
		return nil, err
	}
	return empty{}, svc.UpdateKeyRotationPolicy(ctx, p.String("KeyId"), iv)
}

// refuseUnserved answers 400 for a parameter Coffer does not act on rather than drop it, so a
// caller never believes it got what it asked for (imported key material, an HSM, a key policy,
// tags, a filtered list): only, for each name, the value Coffer's behaviour already is, or none.
func refuseUnserved(p Params, only map[string]string, absent ...string) error {
	for _, name := range slices.Sorted(maps.Keys(only)) {
		if v := p.String(name); v != "" && v != only[name] {
			return core.Invalid(name, "only %s is supported", only[name])
		}
	}
	for _, name := range absent {
		if p.String(name) != "" {
			return core.Invalid(name, "Coffer does not support it here; leave it out")
		}
	}
	return nil
}
