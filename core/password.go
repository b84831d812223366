package core

import (
	"crypto/rand"
	"math/big"
	"strings"
)

// Character classes of GetRandomPassword.
const (
	lowercase   = "abcdefghijklmnopqrstuvwxyz"
	uppercase   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits      = "0123456789"
	punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// PasswordSpec is GetRandomPassword's request.
type PasswordSpec struct {
	Length                  int // 0 means 32
	ExcludeCharacters       string
	ExcludeLowercase        bool
	ExcludeUppercase        bool
	ExcludeNumbers          bool
	ExcludePunctuation      bool
	RequireEachIncludedType bool
}

// GetRandomPassword draws a password from crypto/rand.
func (s *Service) GetRandomPassword(spec PasswordSpec) (string, error) {
	return RandomPassword(spec)
}

// RandomPassword draws a password from crypto/rand; rotators use it too.
func RandomPassword(spec PasswordSpec) (string, error) {
	if spec.Length == 0 {
		spec.Length = 32
	}
	if spec.Length < 8 || spec.Length > 128 {
		return "", Invalid("PasswordLength", "must be between 8 and 128")
	}
	var classes []string
	for _, c := range []struct {
		set     string
		exclude bool
	}{{lowercase, spec.ExcludeLowercase}, {uppercase, spec.ExcludeUppercase}, {digits, spec.ExcludeNumbers}, {punctuation, spec.ExcludePunctuation}} {
		if c.exclude {
			continue
		}
		set := strings.Map(func(r rune) rune {
			if strings.ContainsRune(spec.ExcludeCharacters, r) {
				return -1
			}
			return r
		}, c.set)
		if set != "" {
			classes = append(classes, set)
		}
	}
	if len(classes) == 0 {
		return "", Invalid("ExcludeCharacters", "every character is excluded")
	}
	if spec.RequireEachIncludedType && len(classes) > spec.Length {
		return "", Invalid("PasswordLength", "too short to include each character type")
	}
	all := strings.Join(classes, "")
	out := make([]byte, spec.Length)
	for i := range out {
		out[i] = pick(all)
	}
	if spec.RequireEachIncludedType {
		// Place one character of each class at distinct random positions.
		perm := permutation(spec.Length)
		for i, c := range classes {
			out[perm[i]] = pick(c)
		}
	}
	return string(out), nil
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic("crypto/rand failed: " + err.Error()) // the platform has no entropy: nothing safe to do
	}
	return int(v.Int64())
}

func pick(set string) byte { return set[randInt(len(set))] }

func permutation(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := randInt(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
