package core

import "time"

// Stage labels with a fixed meaning.
const (
	StageCurrent  = "ACSCurrent"
	StagePrevious = "ACSPrevious"
)

// SecretType is the kind of credential a secret holds.
type SecretType string

const (
	TypeGeneric        SecretType = "Generic"
	TypeRds            SecretType = "Rds"
	TypeRAMCredentials SecretType = "RAMCredentials"
	TypeECS            SecretType = "ECS"
	TypeRedis          SecretType = "Redis"   // ApsaraDB for Redis/Tair ACL accounts
	TypePolarDB        SecretType = "PolarDB" // PolarDB accounts, MySQL or PostgreSQL
)

// accountType reports the types whose versions each hold one database account,
// {"AccountName","AccountPassword"}, and whose SecretData is Alibaba's {"Accounts":[...]}.
func (t SecretType) accountType() bool { return t == TypeRds || t == TypeRedis || t == TypePolarDB }

// Managed reports whether the service itself rotates secrets of this type.
func (t SecretType) Managed() bool { return t != TypeGeneric }

// Data types of a secret value.
const (
	DataText   = "text"
	DataBinary = "binary"
)

// GracePeriod is how long an expired instance may still be renewed before it is released.
const GracePeriod = 15 * 24 * time.Hour

// InstanceState is computed from the clock; it is never stored.
type InstanceState string

const (
	InstanceActive   InstanceState = "Active"
	InstanceExpired  InstanceState = "Expired"  // renewable for GracePeriod
	InstanceReleased InstanceState = "Released" // past grace; expiryCheck removes its data
)

// Instance is a KMS instance: the unit that owns keys and secrets and that expires.
type Instance struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	StartDate  time.Time `json:"startDate"`
	EndDate    time.Time `json:"endDate"`
	CreateTime time.Time `json:"createTime"`
	// Warned lists the expiry warnings already sent for the current EndDate (lead times such as
	// "7d", and "expired"), so expiryCheck sends each once; renewal clears it.
	Warned []string `json:"warned,omitempty"`
	// CA is the instance's certificate authority for its gateway endpoint; see InstanceCA.
	CA *InstanceCARecord `json:"ca,omitempty"`
}

// State of the instance at now.
func (i *Instance) State(now time.Time) InstanceState {
	switch {
	case now.Before(i.EndDate):
		return InstanceActive
	case now.Before(i.EndDate.Add(GracePeriod)):
		return InstanceExpired
	default:
		return InstanceReleased
	}
}

// KeyState is the lifecycle state of a key.
type KeyState string

const (
	KeyEnabled         KeyState = "Enabled"
	KeyDisabled        KeyState = "Disabled"
	KeyPendingDeletion KeyState = "PendingDeletion"
)

// KeyVersion is one generation of a key's material, stored only wrapped by the root key.
type KeyVersion struct {
	ID              string    `json:"id"`
	CreateTime      time.Time `json:"createTime"`
	WrappedMaterial []byte    `json:"wrappedMaterial"`
}

// Key is a symmetric AES-256 key of one instance. The newest version encrypts; all decrypt.
type Key struct {
	ID          string    `json:"id"`
	InstanceID  string    `json:"instanceId,omitempty"` // empty: the shared pool
	Description string    `json:"description,omitempty"`
	State       KeyState  `json:"state"`
	CreateTime  time.Time `json:"createTime"`
	DeleteDate  time.Time `json:"deleteDate,omitzero"`
	// RotationInterval, when set, makes expiryCheck add a key version once the primary is older.
	RotationInterval time.Duration `json:"rotationInterval,omitempty"`
	Versions         []KeyVersion  `json:"versions"`
	Tags             []Tag         `json:"tags,omitempty"`
}

// Primary is the version that encrypts new data.
func (k *Key) Primary() KeyVersion { return k.Versions[len(k.Versions)-1] }

// Version finds a key version by id.
func (k *Key) Version(id string) (KeyVersion, bool) {
	for _, v := range k.Versions {
		if v.ID == id {
			return v, true
		}
	}
	return KeyVersion{}, false
}

// Tag is a key-value label on a secret or key.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RotationPolicy is the automatic rotation setting of a managed secret.
type RotationPolicy struct {
	Enabled      bool          `json:"enabled,omitempty"`
	Interval     time.Duration `json:"interval,omitempty"`
	LastRotation time.Time     `json:"lastRotation,omitzero"`
	NextRotation time.Time     `json:"nextRotation,omitzero"`
}

// Version is the metadata of one secret version; its value is stored apart, sealed.
type Version struct {
	ID         string    `json:"id"`
	CreateTime time.Time `json:"createTime"`
	Stages     []string  `json:"stages,omitempty"`
	DataType   string    `json:"dataType"`
}

// HasStage reports whether the version carries stage.
func (v *Version) HasStage(stage string) bool {
	for _, s := range v.Stages {
		if s == stage {
			return true
		}
	}
	return false
}

// Secret is a named credential and its versions. Metadata is stored readable; values are sealed.
type Secret struct {
	Name            string     `json:"name"`
	InstanceID      string     `json:"instanceId,omitempty"` // empty: the shared pool
	Type            SecretType `json:"type"`
	Description     string     `json:"description,omitempty"`
	EncryptionKeyID string     `json:"encryptionKeyId"`
	Tags            []Tag      `json:"tags,omitempty"`
	ExtendedConfig  string     `json:"extendedConfig,omitempty"` // JSON object
	// RotationGrant is who set an ExtendedConfig that names another secret; nil when none does.
	RotationGrant *RotationGrant `json:"rotationGrant,omitempty"`
	Policy        string         `json:"policy,omitempty"`
	// Creator is the access key or client key that created the secret; empty for a secret
	// created before Coffer kept it, or by a trusted caller (the CLI's local commands).
	Creator           string         `json:"creator,omitempty"`
	Rotation          RotationPolicy `json:"rotation,omitzero"`
	CreateTime        time.Time      `json:"createTime"`
	UpdateTime        time.Time      `json:"updateTime"`
	PlannedDeleteTime time.Time      `json:"plannedDeleteTime,omitzero"`
	Versions          []Version      `json:"versions"` // oldest first
	// RotationState is the rotation in progress or failed; nil when none is.
	RotationState *RotationState `json:"rotationState,omitempty"`
	// RotationFence is the fencing token of the newest lease that wrote under the secret's
	// rotation lock; it outlives RotationState. Tokens are the store's own.
	RotationFence uint64 `json:"rotationFence,omitempty"`
}

// VersionByID finds a version.
func (s *Secret) VersionByID(id string) *Version {
	for i := range s.Versions {
		if s.Versions[i].ID == id {
			return &s.Versions[i]
		}
	}
	return nil
}

// VersionByStage finds the version that carries stage.
func (s *Secret) VersionByStage(stage string) *Version {
	for i := range s.Versions {
		if s.Versions[i].HasStage(stage) {
			return &s.Versions[i]
		}
	}
	return nil
}

// AccessKey is a credential that signs requests. Its secret is stored sealed under the root key.
type AccessKey struct {
	ID           string `json:"id"`
	SealedSecret []byte `json:"sealedSecret"`
	Admin        bool   `json:"admin,omitempty"`
	AccessPoint  string `json:"accessPoint,omitempty"` // whose policies apply to a non-admin key
	// AccessPointID is the id of the access point the key was made for; see AccessPoint.ID.
	AccessPointID string    `json:"accessPointId,omitempty"`
	Disabled      bool      `json:"disabled,omitempty"`
	CreateTime    time.Time `json:"createTime"`
	Description   string    `json:"description,omitempty"`
}
