package acsapi

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

func getRandomPassword(_ context.Context, svc *core.Service, p Params) (any, error) {
	var spec core.PasswordSpec
	var err error
	if spec.Length, err = p.Int("PasswordLength", 32, 8, 128); err != nil {
		return nil, err
	}
	spec.ExcludeCharacters = p.String("ExcludeCharacters")
	for name, into := range map[string]*bool{
		"ExcludeLowercase": &spec.ExcludeLowercase, "ExcludeUppercase": &spec.ExcludeUppercase,
		"ExcludeNumbers": &spec.ExcludeNumbers, "ExcludePunctuation": &spec.ExcludePunctuation,
		"RequireEachIncludedType": &spec.RequireEachIncludedType,
	} {
		if *into, err = p.Bool(name, false); err != nil {
			return nil, err
		}
	}
	pw, err := svc.GetRandomPassword(spec)
	if err != nil {
		return nil, err
	}
	return struct {
		RandomPassword string `json:"RandomPassword"`
	}{pw}, nil
}

// empty is the response of actions that answer with RequestId alone.
type empty struct{}

// tagTarget returns the secret a tag action names; keys carry no tags yet.
func tagTarget(p Params) (string, error) {
	if p.String("KeyId") != "" || p.String("CertificateId") != "" {
		return "", core.Invalid("KeyId", "only secrets can be tagged in this version of Coffer")
	}
	return p.Required("SecretName")
}

func tagResource(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := tagTarget(p)
	if err != nil {
		return nil, err
	}
	ts, err := parseTags(p, "Tags")
	if err != nil {
		return nil, err
	}
	return empty{}, svc.TagSecret(ctx, name, ts)
}

func untagResource(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := tagTarget(p)
	if err != nil {
		return nil, err
	}
	var keys []string
	if _, err := p.JSON("TagKeys", &keys); err != nil {
		return nil, err
	}
	return empty{}, svc.UntagSecret(ctx, name, keys)
}

// secretResources reads ResourceType (which must be secret) and ResourceId.N of the batch tag
// actions.
func secretResources(p Params) ([]string, error) {
	if rt := p.String("ResourceType"); rt != "secret" {
		return nil, core.Invalid("ResourceType", "only secret is supported in this version of Coffer")
	}
	ids, err := p.Indexed("ResourceId")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, core.Missing("ResourceId.1")
	}
	if len(ids) > 50 {
		return nil, core.Invalid("ResourceId.N", "at most 50 resources")
	}
	for i, id := range ids {
		ids[i] = secretName(id) // as resourceIDs authorized it
	}
	return ids, nil
}

func tagResources(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ids, err := secretResources(p)
	if err != nil {
		return nil, err
	}
	groups, err := p.IndexedParams("Tag")
	if err != nil {
		return nil, err
	}
	ts := make([]core.Tag, len(groups))
	for i, g := range groups {
		ts[i] = core.Tag{Key: g["Key"], Value: g["Value"]}
	}
	for _, id := range ids {
		if err := svc.TagSecret(ctx, id, ts); err != nil {
			return nil, err
		}
	}
	return empty{}, nil
}

func untagResources(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ids, err := secretResources(p)
	if err != nil {
		return nil, err
	}
	all, err := p.Bool("All", false)
	if err != nil {
		return nil, err
	}
	keys, err := p.Indexed("TagKey")
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		ks := keys
		if all {
			s, err := svc.DescribeSecret(ctx, id)
			if err != nil {
				return nil, err
			}
			ks = nil
			for _, t := range s.Tags {
				ks = append(ks, t.Key)
			}
			if len(ks) == 0 {
				continue
			}
		}
		if err := svc.UntagSecret(ctx, id, ks); err != nil {
			return nil, err
		}
	}
	return empty{}, nil
}

func listTagResources(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ids, err := secretResources(p)
	if err != nil {
		return nil, err
	}
	type item struct {
		ResourceId   string `json:"ResourceId"`
		ResourceType string `json:"ResourceType"`
		TagKey       string `json:"TagKey"`
		TagValue     string `json:"TagValue"`
	}
	items := []item{}
	for _, id := range ids {
		s, err := svc.DescribeSecret(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, t := range s.Tags {
			items = append(items, item{id, "secret", t.Key, t.Value})
		}
	}
	type list struct {
		TagResource []item `json:"TagResource"`
	}
	return struct {
		TagResources list   `json:"TagResources"`
		NextToken    string `json:"NextToken"`
	}{TagResources: list{items}}, nil
}

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
	if spec := p.String("KeySpec"); spec != "" && spec != "Aliyun_AES_256" {
		return nil, core.Invalid("KeySpec", "only Aliyun_AES_256 is supported")
	}
	if usage := p.String("KeyUsage"); usage != "" && usage != "ENCRYPT/DECRYPT" {
		return nil, core.Invalid("KeyUsage", "only ENCRYPT/DECRYPT is supported")
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

func listKeys(ctx context.Context, svc *core.Service, p Params) (any, error) {
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

func createKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	end, err := parseTime(p, "EndDate")
	if err != nil {
		return nil, err
	}
	inst, err := svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{Name: p.String("KmsInstanceName"), EndDate: end})
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstanceId string `json:"KmsInstanceId"`
	}{inst.ID}, nil
}

func renewKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	end, err := parseTime(p, "EndDate")
	if err != nil {
		return nil, err
	}
	inst, err := svc.RenewKmsInstance(ctx, p.String("KmsInstanceId"), end)
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstanceId string `json:"KmsInstanceId"`
		EndDate       string `json:"EndDate"`
	}{inst.ID, FormatTime(inst.EndDate)}, nil
}

// instanceStatus names an instance's state in the console's words; Coffer adds Expired and
// Released, which Alibaba shows only through errors.
func instanceStatus(s core.InstanceState) string {
	if s == core.InstanceActive {
		return "Connected"
	}
	return string(s)
}

func getKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	info, err := svc.GetKmsInstance(ctx, p.String("KmsInstanceId"))
	if err != nil {
		return nil, err
	}
	// The KMS instance SDK verifies the gateway's certificate against it.
	ca, err := svc.InstanceCA(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstance any `json:"KmsInstance"`
	}{struct {
		InstanceId   string `json:"InstanceId"`
		InstanceName string `json:"InstanceName"`
		Status       string `json:"Status"`
		CreateTime   string `json:"CreateTime"`
		StartDate    string `json:"StartDate"`
		EndDate      string `json:"EndDate"`
		SecretNum    string `json:"SecretNum"` // a string in the SDK's struct
		KeyNum       int    `json:"KeyNum"`
		Spec         int    `json:"Spec"`
		CaChain      string `json:"CaCertificateChainPem"`
	}{info.ID, info.Name, instanceStatus(info.State), FormatTime(info.CreateTime), FormatTime(info.StartDate), FormatTime(info.EndDate),
		strconv.Itoa(info.SecretNum), info.KeyNum, 1000, ca.PEM()}}, nil
}

func listKmsInstances(ctx context.Context, svc *core.Service, p Params) (any, error) {
	v, err := view(ctx)
	if err != nil {
		return nil, err
	}
	infos, err := svc.ListKmsInstances(ctx)
	if err != nil {
		return nil, err
	}
	infos = slices.DeleteFunc(infos, func(in *core.InstanceInfo) bool { return !v.Instance(in.ID) })
	type item struct {
		KmsInstanceId  string `json:"KmsInstanceId"`
		KmsInstanceArn string `json:"KmsInstanceArn"`
	}
	return listPage(p, infos, "KmsInstances", "KmsInstance", func(in *core.InstanceInfo) any {
		return item{in.ID, "acs:kms:coffer:coffer:instance/" + in.ID}
	})
}
