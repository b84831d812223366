package acsapi

import "github.com/seed-4eefd85e/coffer/internal/jsonstr"

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
			b = jsonstr.Append(b, s, false)
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
	return jsonstr.Append(append(b, name...), value, false)
}
