package core

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/seed-4eefd85e/coffer/core/envelope"
)

// RecordBackup is the catalog of backups taken, kept in Records so ListBackups and the release
// rule need not read the sink; the files themselves are self-describing.
const RecordBackup = "backup"

// backupFormat names the file layout; a reader refuses any other. backupFormatV1 is the layout
// before files were authenticated, refused with its own message.
const (
	backupFormat   = "coffer-backup/2"
	backupFormatV1 = "coffer-backup/1"
)

// Backup is a catalog entry: one backup file of one instance, or of the shared pool (InstanceID
// SharedPool).
type Backup struct {
	ID           string    `json:"id"`
	InstanceID   string    `json:"instanceId"`
	InstanceName string    `json:"instanceName"`
	CreateTime   time.Time `json:"createTime"`
	Size         int       `json:"size"`
	SecretNum    int       `json:"secretNum"`
	KeyNum       int       `json:"keyNum"`
}

// backupFile is the file: the payload exactly as written, authenticated with the rest of the file
// by a MAC under a fresh key that only the root key opens. Anyone who can write the backup folder
// or bucket but cannot use the root key can neither change a file nor forge one.
type backupFile struct {
	Format string `json:"format"`
	ID     string `json:"id"`
	// MACKey is the file's own MAC key, wrapped by the root key and bound to the backup id.
	MACKey  []byte          `json:"macKey"`
	MAC     []byte          `json:"mac"`
	Payload json.RawMessage `json:"payload"`
}

// backupMACLabel is the HKDF label of backup MACs, so the key serves no other purpose.
const backupMACLabel = "coffer backup file MAC v2"

func backupMACKeyAD(id string) []byte { return []byte("coffer-backup-mac\x00" + id) }

// mac is HMAC-SHA256, under HKDF(key, backupMACLabel), of every field but the MAC itself, each
// length-prefixed so that no field's bytes can move into another.
func (f *backupFile) mac(key []byte) ([]byte, error) {
	mk, err := hkdf.Key(sha256.New, key, nil, backupMACLabel, 32)
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, mk)
	for _, part := range [][]byte{[]byte(f.Format), []byte(f.ID), f.MACKey, f.Payload} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(part)))
		h.Write(part)
	}
	return h.Sum(nil), nil
}

// backupPayload holds an instance as stored: keys still wrapped by the root key, values still
// sealed.
type backupPayload struct {
	ID         string         `json:"id"`
	CreateTime time.Time      `json:"createTime"`
	Instance   Instance       `json:"instance"`
	Keys       []*Key         `json:"keys"`
	Secrets    []backupSecret `json:"secrets"`
}

type backupSecret struct {
	Secret *Secret           `json:"secret"`
	Values map[string][]byte `json:"values"` // sealed, by version id
}

// sharedPoolInstance stands for the shared pool in a backup, which has no instance record.
var sharedPoolInstance = Instance{ID: SharedPool, Name: "shared pool"}

// storedInstanceID is the instance id that keys and secrets carry: "" for the shared pool.
func storedInstanceID(id string) string {
	if id == SharedPool {
		return ""
	}
	return id
}

// CreateBackup writes a backup of an instance, in any state, or of the shared pool (SharedPool),
// to the backup sink.
func (s *Service) CreateBackup(ctx context.Context, instanceID string) (*Backup, error) {
	if instanceID == "" {
		return nil, Missing("KmsInstanceId")
	}
	if s.life.Backups == nil {
		return nil, Errorf(KindInvalidParameter, "no backup sink is configured")
	}
	inst := &sharedPoolInstance
	if instanceID != SharedPool {
		var err error
		if inst, err = getRecord[Instance](ctx, s.store, RecordInstance, instanceID, "KMS instance"); err != nil {
			return nil, err
		}
	}
	stored := storedInstanceID(instanceID)
	p := backupPayload{ID: randomID("bkp-", 12), CreateTime: s.now(), Instance: *inst}
	keys, err := s.ListKeys(ctx, stored)
	if err != nil {
		return nil, err
	}
	for _, k := range keys { // ListKeys("") lists every key; the pool's are those of no instance
		if k.InstanceID == stored {
			p.Keys = append(p.Keys, k)
		}
	}
	secrets, err := s.instanceSecrets(ctx, stored)
	if err != nil {
		return nil, err
	}
	for _, sec := range secrets {
		bs, err := s.backupSecret(ctx, sec.Name)
		if err != nil {
			return nil, err
		}
		if bs.Secret != nil {
			p.Secrets = append(p.Secrets, bs)
		}
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot encode a backup", Err: err}
	}
	file, err := s.sealBackup(ctx, p.ID, payload)
	if err != nil {
		return nil, err
	}
	if err := s.life.Backups.PutBackup(ctx, p.ID, file); err != nil {
		return nil, TemporarilyUnavailable("the backup sink", err)
	}
	b := &Backup{ID: p.ID, InstanceID: inst.ID, InstanceName: inst.Name, CreateTime: p.CreateTime, Size: len(file), SecretNum: len(p.Secrets), KeyNum: len(p.Keys)}
	// The file is written first: a catalog entry always names a file that exists.
	if err := createRecord(ctx, s.store, RecordBackup, b.ID, b); err != nil {
		return nil, err
	}
	return b, nil
}

// sealBackup writes the file around payload under a fresh MAC key wrapped by the root key.
func (s *Service) sealBackup(ctx context.Context, id string, payload []byte) ([]byte, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	defer clear(key)
	wrapped, err := s.keys.root.Wrap(ctx, key, backupMACKeyAD(id))
	if err != nil {
		return nil, TemporarilyUnavailable("the root key", err)
	}
	f := backupFile{Format: backupFormat, ID: id, MACKey: wrapped, Payload: payload}
	if f.MAC, err = f.mac(key); err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot authenticate a backup", Err: err}
	}
	file, err := json.Marshal(f)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot encode a backup", Err: err}
	}
	return file, nil
}

// instanceSecrets lists every secret of an instance. It scans every secret: the store has no
// index by instance yet.
func (s *Service) instanceSecrets(ctx context.Context, instanceID string) ([]*Secret, error) {
	page, err := s.store.ListSecrets(ctx, SecretQuery{Match: func(sec *Secret) bool { return sec.InstanceID == instanceID }})
	return page.Secrets, storeErr(err)
}

// backupSecret reads a secret's metadata and every version's sealed value. A version pruned
// between the reads is left out; a secret deleted meanwhile comes back empty.
func (s *Service) backupSecret(ctx context.Context, name string) (backupSecret, error) {
	sec, err := s.store.GetSecret(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return backupSecret{}, nil
	}
	if err != nil {
		return backupSecret{}, storeErr(err)
	}
	out := backupSecret{Secret: sec, Values: map[string][]byte{}}
	kept := sec.Versions[:0]
	for _, v := range sec.Versions {
		_, value, err := s.store.ReadVersion(ctx, name, v.ID, "")
		if errors.Is(err, ErrNotFound) {
			return backupSecret{}, nil
		}
		if err != nil {
			return backupSecret{}, storeErr(err)
		}
		if value != nil {
			out.Values[v.ID] = value
			kept = append(kept, v)
		}
	}
	sec.Versions = kept
	return out, nil
}

// ListBackups lists the catalog, optionally of one instance, newest first.
func (s *Service) ListBackups(ctx context.Context, instanceID string) ([]*Backup, error) {
	all, err := listRecords[Backup](ctx, s.store, RecordBackup)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, b := range all {
		if instanceID == "" || b.InstanceID == instanceID {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreateTime.Equal(out[j].CreateTime) {
			return out[i].CreateTime.After(out[j].CreateTime)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RestoreBackupInput names a backup and where it goes. With no InstanceID the backup goes into a
// new instance; with the backup's own instance id, into that instance, recreated when it was
// released; with SharedPool, into the shared pool. EndDate is required whenever an instance is
// created.
type RestoreBackupInput struct {
	BackupID   string
	InstanceID string
	EndDate    time.Time
	// MayRestoreFrom, when set, decides whether the caller may restore a backup taken from an
	// instance (its id), before anything is written: restoring is reading that instance's secrets.
	MayRestoreFrom func(instanceID string) error
	// By is the caller; it must be allowed to read every secret a restored rotation config
	// names, and becomes the principal those rotations act for.
	By Principal
}

// RestoreResult says what a restore wrote.
type RestoreResult struct {
	InstanceID string
	SecretNum  int
	KeyNum     int
}

// restoredKey is a key of the backup as it will be written, with the id it had.
type restoredKey struct {
	oldID string
	key   *Key
}

// RestoreBackup writes a backup's keys and secrets into an instance. Everything is checked first
// (checksum, names and ids free, every value decrypts), so a damaged backup or a conflict changes
// nothing. Values are copied byte for byte when their instance and key keep their ids; otherwise
// they are opened and sealed again, because the associated data binds them to both.
func (s *Service) RestoreBackup(ctx context.Context, in RestoreBackupInput) (*RestoreResult, error) {
	if in.BackupID == "" {
		return nil, Missing("BackupId")
	}
	if s.life.Backups == nil {
		return nil, Errorf(KindInvalidParameter, "no backup sink is configured")
	}
	file, err := s.life.Backups.GetBackup(ctx, in.BackupID)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(KindNotFound, "the backup %s is not found", in.BackupID)
	}
	if err != nil {
		return nil, TemporarilyUnavailable("the backup sink", err)
	}
	p, err := s.openBackup(ctx, in.BackupID, file)
	if err != nil {
		return nil, err
	}
	if in.MayRestoreFrom != nil {
		if err := in.MayRestoreFrom(p.Instance.ID); err != nil {
			return nil, err
		}
	}
	inst, create, err := s.restoreTarget(ctx, in, &p.Instance)
	if err != nil {
		return nil, err
	}
	keys, err := s.restoredKeys(ctx, p.Keys, inst.ID)
	if err != nil {
		return nil, err
	}
	newKeyID := map[string]string{}
	for _, k := range keys {
		newKeyID[k.oldID] = k.key.ID
	}
	type restored struct {
		sec    *Secret
		values map[string][]byte
	}
	var secrets []restored
	for _, bs := range p.Secrets {
		if _, err := s.store.GetSecret(ctx, bs.Secret.Name); err == nil {
			return nil, Errorf(KindAlreadyExists, "the secret %s already exists; delete it or restore elsewhere", bs.Secret.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return nil, storeErr(err)
		}
		sec := *bs.Secret
		sec.InstanceID = inst.ID
		// Fencing tokens are the source store's; this store's may be lower and would be refused.
		sec.RotationFence = 0
		if st := sec.RotationState; st != nil {
			restored := *st
			restored.Token = 0
			sec.RotationState = &restored
		}
		ec, _ := validateExtendedConfig(sec.Type, sec.ExtendedConfig) // checkBackup has checked it
		if err := s.checkTargets(sec.Type, ec); err != nil {
			return nil, err
		}
		if sec.RotationGrant, err = s.grantReference(ctx, in.By, sec.Name, sec.Type, ec.CustomData); err != nil {
			return nil, err
		}
		if sec.EncryptionKeyID = newKeyID[bs.Secret.EncryptionKeyID]; sec.EncryptionKeyID == "" {
			return nil, damagedBackup("the key of %s is not in the backup", sec.Name)
		}
		values := map[string][]byte{}
		for _, v := range sec.Versions {
			sealed, ok := bs.Values[v.ID]
			if !ok {
				return nil, damagedBackup("the value of %s version %s is missing", sec.Name, v.ID)
			}
			if values[v.ID], err = s.reseal(ctx, p, bs.Secret, &sec, v.ID, sealed, newKeyID, keys); err != nil {
				return nil, err
			}
		}
		secrets = append(secrets, restored{&sec, values})
	}
	if create {
		if err := createRecord(ctx, s.store, RecordInstance, inst.ID, inst); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if err := createRecord(ctx, s.store, RecordKey, k.key.ID, k.key); err != nil {
			return nil, err
		}
	}
	for _, r := range secrets {
		err := s.store.CreateSecret(ctx, r.sec, r.values)
		if errors.Is(err, ErrExists) {
			return nil, Errorf(KindAlreadyExists, "the secret %s was created during the restore", r.sec.Name)
		}
		if err != nil {
			return nil, storeErr(err)
		}
	}
	id := inst.ID
	if id == "" {
		id = SharedPool
	}
	return &RestoreResult{InstanceID: id, SecretNum: len(secrets), KeyNum: len(keys)}, nil
}

func damagedBackup(format string, args ...any) error {
	return Errorf(KindInvalidParameter, "the backup is damaged: "+format, args...)
}

// openBackup authenticates the file (format, id, MAC) before reading any field of its payload,
// then checks every field as the actions would.
func (s *Service) openBackup(ctx context.Context, id string, file []byte) (*backupPayload, error) {
	var f backupFile
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	var head struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(file, &head) == nil && head.Format == backupFormatV1 {
		return nil, Errorf(KindInvalidParameter, "the backup %s was written before Coffer authenticated backups (%s): nothing proves it unchanged, so it is refused; take a new backup with CreateBackup", id, backupFormatV1)
	}
	if err := dec.Decode(&f); err != nil || dec.More() {
		return nil, damagedBackup("it is not a complete backup file (truncated?)")
	}
	if f.Format != backupFormat {
		return nil, damagedBackup("unknown format %q, want %q", f.Format, backupFormat)
	}
	if f.ID != id {
		return nil, damagedBackup("it is the file of another backup")
	}
	key, err := s.keys.root.Unwrap(ctx, f.MACKey, backupMACKeyAD(id))
	if err != nil {
		return nil, damagedBackup("its MAC key does not open with this root key (altered, or written under another root key)")
	}
	defer clear(key)
	want, err := f.mac(key)
	if err != nil || !hmac.Equal(want, f.MAC) {
		return nil, damagedBackup("its MAC does not match (altered)")
	}
	var p backupPayload
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		return nil, damagedBackup("the payload cannot be read")
	}
	if p.ID != id {
		return nil, damagedBackup("it is the payload of another backup")
	}
	if err := checkBackup(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// restoreTarget picks or makes the instance a restore writes into; create reports that it must
// be stored. The shared pool is an instance of id "" that always exists.
func (s *Service) restoreTarget(ctx context.Context, in RestoreBackupInput, from *Instance) (inst *Instance, create bool, err error) {
	now := s.now()
	if in.InstanceID == SharedPool {
		if !in.EndDate.IsZero() {
			return nil, false, Invalid("EndDate", "only applies when the restore creates the instance")
		}
		return &Instance{}, false, nil
	}
	if in.InstanceID != "" {
		inst, err := getRecord[Instance](ctx, s.store, RecordInstance, in.InstanceID, "KMS instance")
		if err == nil {
			if !in.EndDate.IsZero() {
				return nil, false, Invalid("EndDate", "only applies when the restore creates the instance")
			}
			return inst, false, checkActive(inst, s.clock.Now())
		}
		if KindOf(err) != KindNotFound || in.InstanceID != from.ID {
			return nil, false, err
		}
	}
	if in.EndDate.IsZero() {
		return nil, false, Missing("EndDate")
	}
	if !in.EndDate.After(now) {
		return nil, false, Invalid("EndDate", "must be in the future")
	}
	inst = &Instance{ID: in.InstanceID, Name: from.Name, StartDate: now, EndDate: in.EndDate.UTC(), CreateTime: now}
	if inst.ID == "" {
		inst.ID = randomID("kst-", 12)
	}
	return inst, true, nil
}

// restoredKeys keeps each key's id when it is free and gives it a new one otherwise, wrapping
// its material again because the root key binds material to key id and version.
func (s *Service) restoredKeys(ctx context.Context, keys []*Key, instanceID string) ([]restoredKey, error) {
	out := make([]restoredKey, 0, len(keys))
	for _, k := range keys {
		_, err := s.store.GetRecord(ctx, RecordKey, k.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, storeErr(err)
		}
		nk := *k
		nk.InstanceID = instanceID
		if err == nil { // the id is taken: the original key still exists
			nk.ID = randomID("key-", 12)
			nk.Versions = make([]KeyVersion, len(k.Versions))
			for i, v := range k.Versions {
				m, err := s.keys.material(ctx, k.ID, v)
				if err != nil {
					return nil, err
				}
				if nk.Versions[i], err = s.keys.wrapVersion(ctx, nk.ID, v, m); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, restoredKey{oldID: k.ID, key: &nk})
	}
	return out, nil
}

// reseal returns a version's sealed value as it must be stored for sec: unchanged when nothing it
// is bound to moved, else opened with the backup's key and sealed under the restored one.
func (s *Service) reseal(ctx context.Context, p *backupPayload, from, sec *Secret, versionID string, sealed []byte, newKeyID map[string]string, keys []restoredKey) ([]byte, error) {
	rec, err := envelope.Parse(sealed)
	if err != nil {
		return nil, damagedBackup("the value of %s version %s cannot be read", from.Name, versionID)
	}
	var oldKey, newKey *Key
	for _, k := range p.Keys {
		if k.ID == rec.KeyID {
			oldKey = k
		}
	}
	for _, k := range keys {
		if k.oldID == rec.KeyID {
			newKey = k.key
		}
	}
	if oldKey == nil {
		return nil, damagedBackup("the key %s of %s is not in the backup", rec.KeyID, from.Name)
	}
	kv, ok := oldKey.Version(rec.KeyVersion)
	if !ok {
		return nil, damagedBackup("the key version of %s version %s is not in the backup", from.Name, versionID)
	}
	kek, err := s.keys.material(ctx, oldKey.ID, kv)
	if err != nil {
		return nil, err
	}
	pt, err := envelope.Open(kek, rec, envelope.AssociatedData(from.InstanceID, from.Name, versionID))
	if err != nil {
		return nil, damagedBackup("the value of %s version %s fails authentication", from.Name, versionID)
	}
	defer clear(pt)
	if sec.InstanceID == from.InstanceID && newKey.ID == oldKey.ID {
		return sealed, nil // checked above, and still bound to the same place
	}
	nkek, err := s.keys.material(ctx, newKey.ID, mustVersion(newKey, kv.ID))
	if err != nil {
		return nil, err
	}
	out, err := envelope.Seal(nkek, newKey.ID, kv.ID, envelope.AssociatedData(sec.InstanceID, sec.Name, versionID), pt)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot encrypt the secret value", Err: err}
	}
	return out, nil
}

// mustVersion finds a version that restoredKeys copied; the ids are the backup's own.
func mustVersion(k *Key, id string) KeyVersion {
	v, _ := k.Version(id)
	return v
}

// wrapVersion wraps a copy of a version's material for another key id, keeping the version id.
func (k *keyring) wrapVersion(ctx context.Context, keyID string, v KeyVersion, material []byte) (KeyVersion, error) {
	wrapped, err := k.root.Wrap(ctx, material, materialAD(keyID, v.ID))
	if err != nil {
		return KeyVersion{}, TemporarilyUnavailable("the root key", err)
	}
	v.WrappedMaterial = wrapped
	return v, nil
}
