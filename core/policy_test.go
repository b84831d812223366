package core_test

import (
	"errors"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// FuzzParseSecretPolicy: any input either parses into statements with a known effect and at
// least one action, or is refused as an invalid Policy parameter; it never panics.
func FuzzParseSecretPolicy(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["*"]},"Action":["kms:*"],"Resource":["*"]}]}`,
		`{"Version":"1","Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"kms:GetSecretValue"}]}`,
		`{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":"aap/x"},"Action":[],"Condition":{}}]}`,
		`{"Version":"1","Statement":[]} {}`,
		`[]`, ``, `{"Statement":[{"Principal":7}]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := core.ParseSecretPolicy(doc)
		if err != nil {
			var ce *core.Error
			if core.KindOf(err) != core.KindInvalidParameter || !errors.As(err, &ce) || ce.Field != "Policy" {
				t.Fatalf("refusal %v is not an invalid Policy", err)
			}
			return
		}
		for _, st := range p.Statement {
			if (st.Effect != "Allow" && st.Effect != "Deny") || len(st.Action) == 0 {
				t.Fatalf("accepted statement %+v", st)
			}
		}
	})
}
