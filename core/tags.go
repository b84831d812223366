package core

import (
	"context"
	"slices"
	"sort"
)

// TagSecret adds or replaces tags on a secret.
func (s *Service) TagSecret(ctx context.Context, name string, tags []Tag) error {
	change, err := addTags(tags)
	if err != nil {
		return err
	}
	return s.mutate(ctx, name, func(cur *Secret) error { return change(&cur.Tags) })
}

// UntagSecret removes tags by key; absent keys are ignored.
func (s *Service) UntagSecret(ctx context.Context, name string, keys []string) error {
	change, err := dropTags(keys)
	if err != nil {
		return err
	}
	return s.mutate(ctx, name, func(cur *Secret) error { return change(&cur.Tags) })
}

// TagKey adds or replaces tags on a key.
func (s *Service) TagKey(ctx context.Context, id string, tags []Tag) error {
	change, err := addTags(tags)
	if err != nil {
		return err
	}
	_, err = s.changeKey(ctx, id, func(k *Key) error { return change(&k.Tags) })
	return err
}

// UntagKey removes tags from a key by tag key; absent keys are ignored.
func (s *Service) UntagKey(ctx context.Context, id string, keys []string) error {
	change, err := dropTags(keys)
	if err != nil {
		return err
	}
	_, err = s.changeKey(ctx, id, func(k *Key) error { return change(&k.Tags) })
	return err
}

// tagChange changes a resource's tags in place and checks the result.
type tagChange func(*[]Tag) error

// addTags is the change that adds tags, replacing the values of keys already there.
func addTags(tags []Tag) (tagChange, error) {
	if len(tags) == 0 {
		return nil, Missing("Tags")
	}
	if err := validateTags("Tags", tags); err != nil {
		return nil, err
	}
	return changeTags(func(cur []Tag) []Tag {
		for _, t := range tags {
			i := slices.IndexFunc(cur, func(c Tag) bool { return c.Key == t.Key })
			if i >= 0 {
				cur[i].Value = t.Value
			} else {
				cur = append(cur, t)
			}
		}
		return cur
	}), nil
}

// dropTags is the change that removes tags by key.
func dropTags(keys []string) (tagChange, error) {
	if len(keys) == 0 {
		return nil, Missing("TagKeys")
	}
	return changeTags(func(cur []Tag) []Tag {
		return slices.DeleteFunc(cur, func(t Tag) bool { return slices.Contains(keys, t.Key) })
	}), nil
}

func changeTags(change func([]Tag) []Tag) tagChange {
	return func(tags *[]Tag) error {
		*tags = change(*tags)
		if err := validateTags("Tags", *tags); err != nil {
			return err
		}
		sort.SliceStable(*tags, func(i, j int) bool { return (*tags)[i].Key < (*tags)[j].Key })
		return nil
	}
}
