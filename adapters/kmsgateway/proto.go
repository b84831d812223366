package kmsgateway

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seed-4eefd85e/coffer/core"
)

// The gateway's bodies are the KMS instance SDK's proto3 messages (its api.proto). The few that
// Coffer serves are coded by hand with protowire, so the read path carries no generated types.

// request holds the fields of every request message the gateway serves; each action's schema
// says which field number lands where.
type request struct {
	SecretName, VersionStage, VersionID string
	FetchExtendedConfig                 bool
	KeyID, Algorithm, PaddingMode       string
	Plaintext, CiphertextBlob, Aad, Iv  []byte
	NumberOfBytes, Length               int32
}

// schema maps a message's field numbers to the request field each fills.
type schema map[protowire.Number]func(*request) any

var schemas = map[string]schema{
	"GetSecretValue": {
		1: func(r *request) any { return &r.SecretName }, 2: func(r *request) any { return &r.VersionStage },
		3: func(r *request) any { return &r.VersionID }, 4: func(r *request) any { return &r.FetchExtendedConfig },
	},
	"Encrypt": {
		1: func(r *request) any { return &r.KeyID }, 2: func(r *request) any { return &r.Plaintext },
		3: func(r *request) any { return &r.Algorithm }, 4: func(r *request) any { return &r.Aad },
		5: func(r *request) any { return &r.Iv }, 6: func(r *request) any { return &r.PaddingMode },
	},
	"Decrypt": {
		1: func(r *request) any { return &r.CiphertextBlob }, 2: func(r *request) any { return &r.KeyID },
		3: func(r *request) any { return &r.Algorithm }, 4: func(r *request) any { return &r.Aad },
		5: func(r *request) any { return &r.Iv }, 6: func(r *request) any { return &r.PaddingMode },
	},
	"GenerateDataKey": {
		1: func(r *request) any { return &r.KeyID }, 2: func(r *request) any { return &r.Algorithm },
		3: func(r *request) any { return &r.NumberOfBytes }, 4: func(r *request) any { return &r.Aad },
	},
	"GenerateRandom": {1: func(r *request) any { return &r.Length }},
}

var errBody = core.Invalid("body", "it is not the action's protobuf request message")

// decode parses body as the message of s. Unknown fields are skipped, as proto3 parsers do; a
// known field of the wrong wire type or a truncated message is a 400.
func (s schema) decode(body []byte) (*request, error) {
	r := &request{}
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, errBody
		}
		body = body[n:]
		field, known := s[num]
		if !known {
			if n = protowire.ConsumeFieldValue(num, typ, body); n < 0 {
				return nil, errBody
			}
			body = body[n:]
			continue
		}
		switch p := field(r).(type) {
		case *string, *[]byte:
			if typ != protowire.BytesType {
				return nil, errBody
			}
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return nil, errBody
			}
			body = body[n:]
			if sp, ok := p.(*string); ok {
				*sp = string(v)
			} else {
				*p.(*[]byte) = append([]byte(nil), v...)
			}
		case *bool, *int32:
			if typ != protowire.VarintType {
				return nil, errBody
			}
			v, n := protowire.ConsumeVarint(body)
			if n < 0 {
				return nil, errBody
			}
			body = body[n:]
			if bp, ok := p.(*bool); ok {
				*bp = v != 0
			} else {
				*p.(*int32) = int32(v)
			}
		}
	}
	return r, nil
}

// message builds a proto3 message; empty fields are left out, as proto3 does.
type message []byte

func (m message) str(n protowire.Number, s string) message {
	if s == "" {
		return m
	}
	return protowire.AppendString(protowire.AppendTag(m, n, protowire.BytesType), s)
}

func (m message) bytes(n protowire.Number, b []byte) message {
	if len(b) == 0 {
		return m
	}
	return protowire.AppendBytes(protowire.AppendTag(m, n, protowire.BytesType), b)
}

func (m message) int32(n protowire.Number, v int32) message {
	if v == 0 {
		return m
	}
	return protowire.AppendVarint(protowire.AppendTag(m, n, protowire.VarintType), uint64(int64(v)))
}

// errorMessage is the SDK's Error{StatusCode, ErrorCode, ErrorMessage, RequestId}.
func errorMessage(status int, code, msg, requestID string) []byte {
	return message(nil).int32(1, int32(status)).str(2, code).str(3, msg).str(4, requestID)
}
