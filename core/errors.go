package core

import (
	"errors"
	"fmt"
)

// Kind classifies a failure. Core knows kinds; the protocol adapter maps each kind to a wire code
// and HTTP status, so no protocol string lives here.
type Kind int

const (
	KindInternal             Kind = iota // a bug or a broken invariant; never detailed to callers
	KindInvalidParameter                 // bad input; Field names the parameter
	KindMissingParameter                 // a required parameter is absent; Field names it
	KindNotFound                         // the named resource does not exist
	KindAlreadyExists                    // a resource with that id exists, or a write-once value differs
	KindInDeleteWindow                   // the secret is scheduled for deletion
	KindUnavailable                      // the KMS instance has expired
	KindKeyDisabled                      // the encryption key is disabled
	KindKeyPendingDeletion               // the encryption key is scheduled for deletion
	KindLimitExceeded                    // a quota (versions, stages, tags) is exhausted
	KindRotating                         // a rotation holds the secret
	KindNoPermission                     // the caller may not do this
	KindNoBackup                         // releasing an instance that has no backup
	KindUnavailableTemporary             // a dependency (store, root key) cannot be reached; retry later
)

var kindNames = map[Kind]string{
	KindInternal:             "internal",
	KindInvalidParameter:     "invalid parameter",
	KindMissingParameter:     "missing parameter",
	KindNotFound:             "not found",
	KindAlreadyExists:        "already exists",
	KindInDeleteWindow:       "in delete window",
	KindUnavailable:          "unavailable",
	KindKeyDisabled:          "key disabled",
	KindKeyPendingDeletion:   "key pending deletion",
	KindLimitExceeded:        "limit exceeded",
	KindRotating:             "rotating",
	KindNoPermission:         "no permission",
	KindNoBackup:             "no backup",
	KindUnavailableTemporary: "temporarily unavailable",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a classified failure. Message is safe to show a caller: it never holds secret material.
type Error struct {
	Kind  Kind
	Field string // the offending parameter, for invalid and missing parameters
	// Resource is the record kind (RecordKey, RecordInstance, ...) a not-found error names, so a
	// protocol can answer each kind with its own code.
	Resource string
	Message  string
	Err      error // the cause, for logs; never shown to callers
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf reports the kind of err; an unclassified error is internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Errorf builds a classified error with a caller-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad value for field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalidParameter, Field: field, Message: fmt.Sprintf("the parameter %q is invalid: ", field) + fmt.Sprintf(format, args...)}
}

// Missing reports an absent required field.
func Missing(field string) *Error {
	return &Error{Kind: KindMissingParameter, Field: field, Message: fmt.Sprintf("the parameter %q is needed but not provided", field)}
}

// TemporarilyUnavailable wraps a dependency failure (store, root key) as retryable; the cause is
// kept for logs only.
func TemporarilyUnavailable(what string, err error) *Error {
	return &Error{Kind: KindUnavailableTemporary, Message: what + " is temporarily unavailable", Err: err}
}

// ErrNotFound is returned by stores for an absent record; core turns it into a named error.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by stores when creating a record that exists.
var ErrExists = errors.New("already exists")
