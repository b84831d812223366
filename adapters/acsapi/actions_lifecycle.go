package acsapi

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// keyAction runs a key state change that answers with RequestId alone.
func keyAction(change func(*core.Service, context.Context, string) error) Action {
	return func(ctx context.Context, svc *core.Service, p Params) (any, error) {
		return empty{}, change(svc, ctx, p.String("KeyId"))
	}
}

var (
	enableKey         = keyAction((*core.Service).EnableKey)
	disableKey        = keyAction((*core.Service).DisableKey)
	cancelKeyDeletion = keyAction((*core.Service).CancelKeyDeletion)
)

func scheduleKeyDeletion(ctx context.Context, svc *core.Service, p Params) (any, error) {
	if _, err := p.Required("PendingWindowInDays"); err != nil {
		return nil, err
	}
	days, err := p.Int("PendingWindowInDays", 0, core.MinKeyDeletionDays, core.MaxKeyDeletionDays)
	if err != nil {
		return nil, err
	}
	_, err = svc.ScheduleKeyDeletion(ctx, p.String("KeyId"), days)
	return empty{}, err
}

// keyRotation reads EnableAutomaticRotation and RotationInterval; 0 means no rotation.
func keyRotation(p Params) (time.Duration, error) {
	on, err := p.Bool("EnableAutomaticRotation", false)
	if err != nil || !on {
		return 0, err
	}
	return core.ParseKeyRotationInterval(p.String("RotationInterval"))
}

func updateRotationPolicy(ctx context.Context, svc *core.Service, p Params) (any, error) {
	if _, err := p.Required("EnableAutomaticRotation"); err != nil {
		return nil, err
	}
	iv, err := keyRotation(p)
	if err != nil {
		return nil, err
	}
	return empty{}, svc.UpdateKeyRotationPolicy(ctx, p.String("KeyId"), iv)
}

// encryptionContext reads the optional EncryptionContext JSON object of strings.
func encryptionContext(p Params) (map[string]string, error) {
	var ec map[string]string
	_, err := p.JSON("EncryptionContext", &ec)
	return ec, err
}

// ciphertextBody is the shape Encrypt and GenerateDataKey share; the blob is base64 text the SDK
// hands back to Decrypt verbatim.
type ciphertextBody struct {
	CiphertextBlob string `json:"CiphertextBlob"`
	KeyId          string `json:"KeyId"`
	KeyVersionId   string `json:"KeyVersionId"`
}

func ciphertext(ct *core.Ciphertext) ciphertextBody {
	return ciphertextBody{base64.StdEncoding.EncodeToString(ct.Blob), ct.KeyID, ct.KeyVersionID}
}

func encrypt(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ec, err := encryptionContext(p)
	if err != nil {
		return nil, err
	}
	ct, err := svc.Encrypt(ctx, p.String("KeyId"), []byte(p.String("Plaintext")), ec)
	if err != nil {
		return nil, err
	}
	return ciphertext(ct), nil
}

func decrypt(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ec, err := encryptionContext(p)
	if err != nil {
		return nil, err
	}
	blob, err := ciphertextParam(p)
	if err != nil {
		return nil, err
	}
	pt, ct, err := svc.Decrypt(ctx, blob, ec)
	if err != nil {
		return nil, err
	}
	return struct {
		Plaintext    string `json:"Plaintext"`
		KeyId        string `json:"KeyId"`
		KeyVersionId string `json:"KeyVersionId"`
	}{string(pt), ct.KeyID, ct.KeyVersionID}, nil
}

// ciphertextParam reads CiphertextBlob, the base64 text Encrypt returned.
func ciphertextParam(p Params) ([]byte, error) {
	blob, err := base64.StdEncoding.DecodeString(p.String("CiphertextBlob"))
	if err != nil {
		return nil, core.Invalid("CiphertextBlob", "must be the base64 text Encrypt returned")
	}
	return blob, nil
}

// ciphertextKey names the key inside CiphertextBlob, which Decrypt is authorized on, as Alibaba
// does.
func ciphertextKey(p Params) ([]string, error) {
	blob, err := ciphertextParam(p)
	if err != nil {
		return nil, err
	}
	id, err := core.CiphertextKeyID(blob)
	if err != nil {
		return nil, err
	}
	return []string{"key/" + id}, nil
}

func generateDataKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ec, err := encryptionContext(p)
	if err != nil {
		return nil, err
	}
	n := 32
	switch p.String("KeySpec") {
	case "", "AES_256":
	case "AES_128":
		n = 16
	default:
		return nil, core.Invalid("KeySpec", "must be AES_256 or AES_128")
	}
	if n, err = p.Int("NumberOfBytes", n, 1, 1024); err != nil {
		return nil, err
	}
	dk, ct, err := svc.GenerateDataKey(ctx, p.String("KeyId"), n, ec)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	return struct {
		ciphertextBody
		Plaintext string `json:"Plaintext"`
	}{ciphertext(ct), base64.StdEncoding.EncodeToString(dk)}, nil
}

func releaseKmsInstance(ctx context.Context, svc *core.Service, p Params) (any, error) {
	force, err := p.Bool("ForceDeleteWithoutBackup", false)
	if err != nil {
		return nil, err
	}
	return empty{}, svc.ReleaseKmsInstance(ctx, p.String("KmsInstanceId"), force)
}

type backupItem struct {
	BackupId      string `json:"BackupId"`
	KmsInstanceId string `json:"KmsInstanceId"`
	CreateTime    string `json:"CreateTime"`
	SecretNum     int    `json:"SecretNum"`
	KeyNum        int    `json:"KeyNum"`
	Size          int    `json:"Size"`
}

func backupOf(b *core.Backup) backupItem {
	return backupItem{b.ID, b.InstanceID, FormatTime(b.CreateTime), b.SecretNum, b.KeyNum, b.Size}
}

func createBackup(ctx context.Context, svc *core.Service, p Params) (any, error) {
	b, err := svc.CreateBackup(ctx, p.String("KmsInstanceId"))
	if err != nil {
		return nil, err
	}
	return backupOf(b), nil
}

func listBackups(ctx context.Context, svc *core.Service, p Params) (any, error) {
	bs, err := svc.ListBackups(ctx, p.String("KmsInstanceId"))
	if err != nil {
		return nil, err
	}
	return listPage(p, bs, "Backups", "Backup", func(b *core.Backup) any { return backupOf(b) })
}

func restoreBackup(ctx context.Context, svc *core.Service, p Params) (any, error) {
	end, err := parseTime(p, "EndDate")
	if err != nil {
		return nil, err
	}
	res, err := svc.RestoreBackup(ctx, core.RestoreBackupInput{
		BackupID: p.String("BackupId"), InstanceID: p.String("KmsInstanceId"), EndDate: end, By: callerOf(ctx),
		MayRestoreFrom: func(id string) error { return authorizeAlso(ctx, svc, core.AdminPermission, "instance/"+id) },
	})
	if err != nil {
		return nil, err
	}
	return struct {
		KmsInstanceId string `json:"KmsInstanceId"`
		SecretNum     int    `json:"SecretNum"`
		KeyNum        int    `json:"KeyNum"`
	}{res.InstanceID, res.SecretNum, res.KeyNum}, nil
}

// ExpiryActions is what the expiryCheck function serves over HTTP: one action that runs a check
// now and answers with its report. run is the function's entry point, which also logs.
func ExpiryActions(run func(context.Context) (*core.ExpiryReport, error)) Actions {
	return Actions{"RunExpiryCheck": func(ctx context.Context, _ *core.Service, _ Params) (any, error) {
		r, err := run(ctx)
		if err != nil {
			return nil, err
		}
		return struct {
			Report *core.ExpiryReport `json:"Report"`
		}{r}, nil
	}}
}
