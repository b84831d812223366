package core

import "time"

// AuditRecord is what one call leaves behind: who did what to which resource from where, and how
// it ended. It never holds a parameter value, so no secret material can reach it.
type AuditRecord struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"requestId"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	// ClaimedAccessKeyID is the key id a request named whose signature did not verify: who
	// someone tried to be, never who they are.
	ClaimedAccessKeyID string        `json:"claimedAccessKeyId,omitempty"`
	SourceIP           string        `json:"sourceIp,omitempty"`
	Action             string        `json:"action"`
	Resources          []string      `json:"resources,omitempty"`
	Status             int           `json:"status"`
	Code               string        `json:"code"` // "OK" or the error code answered
	Latency            time.Duration `json:"latencyNs"`
}
