package core

import (
	"context"
	"time"
)

// AuditRecord is what one call leaves behind: who did what to which resource from where, and how
// it ended. It never holds a parameter value, so no secret material can reach it.
type AuditRecord struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"requestId"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	// ClaimedAccessKeyID is the key id a request named whose signature did not verify: who
	// someone tried to be, never who they are.
	ClaimedAccessKeyID string   `json:"claimedAccessKeyId,omitempty"`
	SourceIP           string   `json:"sourceIp,omitempty"`
	Action             string   `json:"action"`
	Resources          []string `json:"resources,omitempty"`
	Status             int      `json:"status"`
	Code               string   `json:"code"` // "OK" or the error code answered
	// Reason sets apart a call that did something out of the ordinary under its action's name:
	// ReasonManagedCorrection.
	Reason  string        `json:"reason,omitempty"`
	Latency time.Duration `json:"latencyNs"`
}

// ReasonManagedCorrection marks a PutSecretValue that corrected a managed secret's credential,
// which otherwise only rotation writes.
const ReasonManagedCorrection = "managed-credential-correction"

type auditNoteKey struct{}

// WithAuditReason gives ctx a slot in which the operation it serves may say why its call is out
// of the ordinary; the protocol adapter reads *reason into the call's AuditRecord.Reason.
func WithAuditReason(ctx context.Context) (context.Context, *string) {
	c := &reasonCtx{Context: ctx}
	return c, &c.reason
}

// reasonCtx is ctx with the slot, as context.WithValue(ctx, auditNoteKey{}, &reason) would
// make it, in one allocation instead of two (the slot and the context): every call makes one.
type reasonCtx struct {
	context.Context
	reason string
}

func (c *reasonCtx) Value(key any) any {
	if key == (auditNoteKey{}) {
		return &c.reason
	}
	return c.Context.Value(key)
}

// auditReason records reason in ctx's slot, if it has one.
func auditReason(ctx context.Context, reason string) {
	if p, ok := ctx.Value(auditNoteKey{}).(*string); ok {
		*p = reason
	}
}
