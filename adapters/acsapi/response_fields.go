package acsapi

import (
	"unicode/utf8"
)

// fieldsAppender is a response body that lays out its own JSON fields, byte for byte as
// encoding/json with SetEscapeHTML(false) writes them: GetSecretValue's answer, which reflection
// would otherwise encode on every call of the read path.
type fieldsAppender interface {
	// appendFields appends the object's fields, without the braces.
	appendFields(b []byte) []byte
	// fieldsSize is about how many bytes appendFields adds, to size the buffer once.
	fieldsSize() int
}

func (v secretValue) fieldsSize() int {
	return 256 + len(v.SecretName) + len(v.SecretData) + len(v.ExtendedConfig) + len(v.VersionId)
}

func (v secretValue) appendFields(b []byte) []byte {
	b = appendJSONField(b, `"SecretName":`, v.SecretName)
	b = appendJSONField(b, `,"SecretType":`, v.SecretType)
	b = appendJSONField(b, `,"SecretData":`, v.SecretData)
	b = appendJSONField(b, `,"SecretDataType":`, v.SecretDataType)
	b = appendJSONField(b, `,"VersionId":`, v.VersionId)
	b = appendJSONField(b, `,"CreateTime":`, v.CreateTime)
	b = append(b, `,"VersionStages":{"VersionStage":`...)
	if v.VersionStages.VersionStage == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range v.VersionStages.VersionStage {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	for _, f := range [...]struct{ name, value string }{
		{`,"ExtendedConfig":`, v.ExtendedConfig}, {`,"AutomaticRotation":`, v.AutomaticRotation},
		{`,"RotationInterval":`, v.RotationInterval}, {`,"LastRotationDate":`, v.LastRotationDate},
		{`,"NextRotationDate":`, v.NextRotationDate},
	} {
		if f.value != "" { // omitempty
			b = appendJSONField(b, f.name, f.value)
		}
	}
	return b
}

func appendJSONField(b []byte, name, value string) []byte {
	return appendJSONString(append(b, name...), value)
}

// appendJSONString appends s as a JSON string exactly as encoding/json does without HTML
// escaping: short escapes where JSON has them, \u00XX for other control characters, U+FFFD for
// invalid UTF-8, and U+2028 and U+2029 escaped for JavaScript's sake.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
