package core

import (
	"strings"
	"testing"
)

// Past its MAC a backup still holds only what the actions could have stored: every name and field
// is checked, and a secret without versions is refused.
func TestCheckBackupRefusesWhatActionsRefuse(t *testing.T) {
	good := func() *backupPayload {
		return &backupPayload{
			ID: "bkp-1", Instance: Instance{ID: "kst-1", Name: "prod"},
			Keys: []*Key{{ID: "key-1", InstanceID: "kst-1", State: KeyEnabled, Versions: []KeyVersion{{ID: "kv-1", WrappedMaterial: []byte{1}}}}},
			Secrets: []backupSecret{{Secret: &Secret{
				Name: "app/db", InstanceID: "kst-1", Type: TypeGeneric, EncryptionKeyID: "key-1",
				Versions: []Version{{ID: "v1", Stages: []string{StageCurrent}, DataType: DataText}, {ID: "v0", Stages: []string{StagePrevious}, DataType: DataText}},
			}}},
		}
	}
	if err := checkBackup(good()); err != nil {
		t.Fatalf("a sound payload is refused: %v", err)
	}
	cases := []struct {
		name   string
		change func(p *backupPayload)
		want   string
	}{
		{"no instance", func(p *backupPayload) { p.Instance.ID = "" }, "names no instance"},
		{"invalid secret name", func(p *backupPayload) { p.Secrets[0].Secret.Name = "app/db; drop" }, "only letters"},
		{"reserved name", func(p *backupPayload) { p.Secrets[0].Secret.Name = "acs/ecs/x" }, "reserved"},
		{"unknown type", func(p *backupPayload) { p.Secrets[0].Secret.Type = "Bogus" }, "SecretType"},
		{"no versions", func(p *backupPayload) { p.Secrets[0].Secret.Versions = nil }, "at least one version"},
		{"no ACSCurrent", func(p *backupPayload) { p.Secrets[0].Secret.Versions[0].Stages = nil }, "ACSCurrent"},
		{"a stage on two versions", func(p *backupPayload) { p.Secrets[0].Secret.Versions[1].Stages = []string{StageCurrent} }, "marks two versions"},
		{"repeated version", func(p *backupPayload) { p.Secrets[0].Secret.Versions[1].ID = "v1" }, "appears twice"},
		{"bad data type", func(p *backupPayload) { p.Secrets[0].Secret.Versions[0].DataType = "exe" }, "text or binary"},
		{"policy SetSecretPolicy refuses", func(p *backupPayload) {
			p.Secrets[0].Secret.Policy = `{"Statement":[{"Effect":"Allow","Condition":{}}]}`
		}, "policy document"},
		{"ExtendedConfig CreateSecret refuses", func(p *backupPayload) { p.Secrets[0].Secret.ExtendedConfig = "[1]" }, "JSON object"},
		{"managed secret without config", func(p *backupPayload) { p.Secrets[0].Secret.Type = TypeRds }, "ExtendedConfig"},
		{"reserved tag", func(p *backupPayload) { p.Secrets[0].Secret.Tags = []Tag{{Key: "acs:x", Value: "y"}} }, "tag keys"},
		{"rotation interval out of range", func(p *backupPayload) {
			p.Secrets[0].Secret.Rotation = RotationPolicy{Enabled: true, Interval: 1}
		}, "RotationInterval"},
		{"secret of another instance", func(p *backupPayload) { p.Secrets[0].Secret.InstanceID = "kst-2" }, "another instance"},
		{"key not in the backup", func(p *backupPayload) { p.Secrets[0].Secret.EncryptionKeyID = "key-2" }, "not in the backup"},
		{"secret twice", func(p *backupPayload) { p.Secrets = append(p.Secrets, p.Secrets[0]) }, "appears twice"},
		{"secret without metadata", func(p *backupPayload) { p.Secrets[0].Secret = nil }, "no metadata"},
		{"bad key id", func(p *backupPayload) { p.Keys[0].ID = "../k" }, "no valid id"},
		{"key without versions", func(p *backupPayload) { p.Keys[0].Versions = nil }, "no version"},
		{"unknown key state", func(p *backupPayload) { p.Keys[0].State = "Open" }, "unknown state"},
		{"key of another instance", func(p *backupPayload) { p.Keys[0].InstanceID = "" }, "another instance"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := good()
			c.change(p)
			err := checkBackup(p)
			if KindOf(err) != KindInvalidParameter || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a refusal saying %q", err, c.want)
			}
		})
	}
}
