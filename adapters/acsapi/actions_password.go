package acsapi

import (
	"context"

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
