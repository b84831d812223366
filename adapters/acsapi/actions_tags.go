package acsapi

import (
	"context"
	"slices"
	"strconv"

	"github.com/seed-4eefd85e/coffer/core"
)

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
