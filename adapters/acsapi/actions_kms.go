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

// tagTarget returns what a tag action names: a key (KeyId) or a secret (SecretName).
func tagTarget(p Params) (kind, id string, err error) {
	if p.String("CertificateId") != "" {
		return "", "", core.Invalid("CertificateId", "Coffer has no certificates; tag a key (KeyId) or a secret (SecretName)")
	}
	if id := p.String("KeyId"); id != "" {
		return "key", id, nil
	}
	id, err = p.Required("SecretName")
	return "secret", id, err
}

// tagger adds and removes the tags of one kind of resource.
type tagger struct {
	tag   func(ctx context.Context, id string, tags []core.Tag) error
	untag func(ctx context.Context, id string, keys []string) error
	tags  func(ctx context.Context, id string) ([]core.Tag, error)
}

func taggerOf(svc *core.Service, kind string) tagger {
	if kind == "key" {
		return tagger{svc.TagKey, svc.UntagKey, func(ctx context.Context, id string) ([]core.Tag, error) {
			k, err := svc.DescribeKey(ctx, id)
			if err != nil {
				return nil, err
			}
			return k.Tags, nil
		}}
	}
	return tagger{svc.TagSecret, svc.UntagSecret, func(ctx context.Context, id string) ([]core.Tag, error) {
		s, err := svc.DescribeSecret(ctx, id)
		if err != nil {
			return nil, err
		}
		return s.Tags, nil
	}}
}

func tagResource(ctx context.Context, svc *core.Service, p Params) (any, error) {
	kind, id, err := tagTarget(p)
	if err != nil {
		return nil, err
	}
	ts, err := parseTags(p, "Tags")
	if err != nil {
		return nil, err
	}
	return empty{}, taggerOf(svc, kind).tag(ctx, id, ts)
}

func untagResource(ctx context.Context, svc *core.Service, p Params) (any, error) {
	kind, id, err := tagTarget(p)
	if err != nil {
		return nil, err
	}
	var keys []string
	if _, err := p.JSON("TagKeys", &keys); err != nil {
		return nil, err
	}
	return empty{}, taggerOf(svc, kind).untag(ctx, id, keys)
}

// maxTagResources bounds the resources one batch tag call names, and the resources one page of
// ListTagResources shows.
const maxTagResources = 50

// taggedResources reads ResourceType (secret or key) and ResourceId.N of the batch tag actions;
// ids may be absent only where optional says so.
func taggedResources(p Params, optional bool) (kind string, ids []string, err error) {
	kind = p.String("ResourceType")
	if kind != "secret" && kind != "key" {
		return "", nil, core.Invalid("ResourceType", "use secret or key")
	}
	if ids, err = p.Indexed("ResourceId"); err != nil {
		return "", nil, err
	}
	if len(ids) == 0 && !optional {
		return "", nil, core.Missing("ResourceId.1")
	}
	if len(ids) > maxTagResources {
		return "", nil, core.Invalid("ResourceId.N", "at most %d resources", maxTagResources)
	}
	for i, id := range ids {
		if kind == "secret" {
			ids[i] = secretName(id) // as resourceIDs authorized it
		}
	}
	return kind, ids, nil
}

func tagResources(ctx context.Context, svc *core.Service, p Params) (any, error) {
	kind, ids, err := taggedResources(p, false)
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
	t := taggerOf(svc, kind)
	for _, id := range ids {
		if err := t.tag(ctx, id, ts); err != nil {
			return nil, err
		}
	}
	return empty{}, nil
}

func untagResources(ctx context.Context, svc *core.Service, p Params) (any, error) {
	kind, ids, err := taggedResources(p, false)
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
	t := taggerOf(svc, kind)
	for _, id := range ids {
		ks := keys
		if all {
			tags, err := t.tags(ctx, id)
			if err != nil {
				return nil, err
			}
			ks = nil
			for _, tg := range tags {
				ks = append(ks, tg.Key)
			}
			if len(ks) == 0 {
				continue
			}
		}
		if err := t.untag(ctx, id, ks); err != nil {
			return nil, err
		}
	}
	return empty{}, nil
}

// tagged is one resource and its tags, as ListTagResources pages through them.
type tagged struct {
	id   string
	tags []core.Tag
}

// listTagResources answers the tags of the resources named by ResourceId.N or, without ids, of
// every resource of the type that the caller may see, in pages of maxTagResources resources
// (NextToken). Tag.N.Key (and .Value) keep the resources that carry every tag given.
func listTagResources(ctx context.Context, svc *core.Service, p Params) (any, error) {
	kind, ids, err := taggedResources(p, true)
	if err != nil {
		return nil, err
	}
	groups, err := p.IndexedParams("Tag")
	if err != nil {
		return nil, err
	}
	offset := 0
	if tok := p.String("NextToken"); tok != "" {
		if offset, err = strconv.Atoi(tok); err != nil || offset < 0 {
			return nil, core.Invalid("NextToken", "use the NextToken of the previous page")
		}
	}
	var all []tagged
	if len(ids) > 0 {
		t := taggerOf(svc, kind)
		for _, id := range ids {
			tags, err := t.tags(ctx, id)
			if err != nil {
				return nil, err
			}
			all = append(all, tagged{id, tags})
		}
	} else if all, err = visibleTagged(ctx, svc, kind); err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(r tagged) bool { return !carriesAll(r.tags, groups) })
	type item struct {
		ResourceId   string `json:"ResourceId"`
		ResourceType string `json:"ResourceType"`
		TagKey       string `json:"TagKey"`
		TagValue     string `json:"TagValue"`
	}
	items, next := []item{}, ""
	for i := offset; i < len(all) && i < offset+maxTagResources; i++ {
		for _, t := range all[i].tags {
			items = append(items, item{all[i].id, kind, t.Key, t.Value})
		}
	}
	if offset+maxTagResources < len(all) {
		next = strconv.Itoa(offset + maxTagResources)
	}
	type list struct {
		TagResource []item `json:"TagResource"`
	}
	return struct {
		TagResources list   `json:"TagResources"`
		NextToken    string `json:"NextToken"`
	}{list{items}, next}, nil
}

// visibleTagged lists every resource of kind that the caller of the call being served may see
// (a secret policy's denial included), with its tags.
func visibleTagged(ctx context.Context, svc *core.Service, kind string) ([]tagged, error) {
	v, err := callerView(ctx, svc)
	if err != nil {
		return nil, err
	}
	var out []tagged
	if kind == "key" {
		keys, err := svc.ListKeys(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if v.Key(k) {
				out = append(out, tagged{k.ID, k.Tags})
			}
		}
		return out, nil
	}
	for n := 1; ; n++ {
		page, err := svc.ListSecrets(ctx, core.ListSecretsInput{View: v, PageNumber: n, PageSize: 100})
		if err != nil {
			return nil, err
		}
		for _, s := range page.Secrets {
			out = append(out, tagged{s.Name, s.Tags})
		}
		if len(page.Secrets) < 100 || n*100 >= page.Total {
			return out, nil
		}
	}
}

// carriesAll reports whether tags hold every Tag.N filter: the key, and the value when given.
func carriesAll(tags []core.Tag, filters []Params) bool {
	for _, f := range filters {
		if !slices.ContainsFunc(tags, func(t core.Tag) bool { return t.Key == f["Key"] && (f["Value"] == "" || t.Value == f["Value"]) }) {
			return false
		}
	}
	return true
}

// listResourceTags answers the tags of one key.
func listResourceTags(ctx context.Context, svc *core.Service, p Params) (any, error) {
	id, err := p.Required("KeyId")
	if err != nil {
		return nil, err
	}
	k, err := svc.DescribeKey(ctx, id)
	if err != nil {
		return nil, err
	}
	type item struct {
		KeyId    string `json:"KeyId"`
		TagKey   string `json:"TagKey"`
		TagValue string `json:"TagValue"`
	}
	items := make([]item, len(k.Tags))
	for i, t := range k.Tags {
		items[i] = item{k.ID, t.Key, t.Value}
	}
	type list struct {
		Tag []item `json:"Tag"`
	}
	return struct {
		Tags list `json:"Tags"`
	}{list{items}}, nil
}

// deploymentRegion is the one region a Coffer deployment is, as its ARNs name it.
const deploymentRegion = "coffer"

func describeRegions(context.Context, *core.Service, Params) (any, error) {
	type region struct {
		RegionId string `json:"RegionId"`
	}
	type list struct {
		Region []region `json:"Region"`
	}
	return struct {
		Regions list `json:"Regions"`
	}{list{[]region{{deploymentRegion}}}}, nil
}

// getDefaultKmsInstance answers the shared pool, which has no instance id: Coffer has no default
// instance, as an Alibaba account that bought none.
func getDefaultKmsInstance(context.Context, *core.Service, Params) (any, error) {
	return struct {
		DefaultKmsInstanceId string `json:"DefaultKmsInstanceId"`
	}{""}, nil
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
	type bindVpcs struct {
		BindVpc []struct{} `json:"BindVpc"`
	}
	// Every field of the SDK v4 model that Coffer can fill truthfully: an instance is bought until
	// its EndDate and renewed (a subscription, PREPAY), of KMS 3.0's kind, with no deletion
	// protection and no VPC, so the network fields are empty. KeyNum, Spec and VpcNum are the v3
	// model's. VswitchIds and ZoneIds are left out: v3 decodes them as strings, v4 as lists.
	// The KMS instance SDK verifies the gateway's certificate against it.
	ca, err := svc.InstanceCA(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstance any `json:"KmsInstance"`
	}{struct {
		InstanceId         string   `json:"InstanceId"`
		InstanceName       string   `json:"InstanceName"`
		Status             string   `json:"Status"`
		CreateTime         string   `json:"CreateTime"`
		StartDate          string   `json:"StartDate"`
		EndDate            string   `json:"EndDate"`
		SecretNum          string   `json:"SecretNum"` // a string in the SDK's struct
		KeyNum             int      `json:"KeyNum"`
		Spec               int      `json:"Spec"`
		ChargeType         string   `json:"ChargeType"`
		ProductVersion     string   `json:"ProductVersion"`
		DeletionProtection bool     `json:"DeletionProtection"`
		VpcId              string   `json:"VpcId"`
		VpcNum             int      `json:"VpcNum"`
		BindVpcs           bindVpcs `json:"BindVpcs"`
		CaChain            string   `json:"CaCertificateChainPem"`
	}{info.ID, info.Name, instanceStatus(info.State), FormatTime(info.CreateTime), FormatTime(info.StartDate), FormatTime(info.EndDate),
		strconv.Itoa(info.SecretNum), info.KeyNum, 1000, "PREPAY", "3", false, "", 0, bindVpcs{[]struct{}{}}, ca.PEM()}}, nil
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
