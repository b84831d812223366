package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

func secretCommands() *command {
	return &command{name: "secret", summary: "create, read, version and delete secrets", subs: []*command{
		secretCreate(), secretGet(), secretPut(), secretList(), secretVersions(), secretDescribe(),
		secretStage(), secretDelete(), secretRestore(), secretRotate(), secretRotationPolicy(),
	}}
}

// valueFlags are the ways a command takes a secret value: never echoed, and not on the command
// line unless the operator insists.
type valueFlags struct {
	file   string
	binary bool
}

func (v *valueFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&v.file, "from-file", "", "read the value from `FILE` (- for stdin); without it and without VALUE the value is read from stdin")
	fs.BoolVar(&v.binary, "binary", false, "store the bytes as a binary secret (SecretDataType binary, base64 on the wire)")
}

const valueHelp = `The value is read, in this order, from --from-file, from the VALUE argument, or from stdin
(pipe or redirect it: a value typed as an argument stays in shell history and shows in ps). It is
stored byte for byte, a trailing newline included: use printf '%s', not echo. It is never printed.`

// read returns the value and its SecretDataType.
func (v *valueFlags) read(c *cli, arg []string) (data, dataType string, err error) {
	var raw []byte
	switch {
	case v.file != "" && len(arg) > 0:
		return "", "", usagef("give the value either as VALUE or with --from-file, not both")
	case v.file == "-":
		raw, err = io.ReadAll(c.stdin)
	case v.file != "":
		raw, err = os.ReadFile(v.file)
	case len(arg) > 0:
		fmt.Fprintln(c.stderr, "coffer: warning: a value given as an argument stays in shell history and shows in ps; prefer --from-file or stdin")
		raw = []byte(arg[0])
	case c.stdinTTY:
		return "", "", usagef("no value: pipe or redirect it into stdin (... < file), or use --from-file FILE")
	default:
		raw, err = io.ReadAll(c.stdin)
	}
	if err != nil {
		return "", "", fmt.Errorf("reading the value: %w", err)
	}
	if v.binary {
		return base64.StdEncoding.EncodeToString(raw), "binary", nil
	}
	return string(raw), "text", nil
}

// tagFlags collects repeated --tag KEY=VALUE flags.
type tagFlags []map[string]string

func (t *tagFlags) String() string { return "" }

func (t *tagFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("use KEY=VALUE")
	}
	*t = append(*t, map[string]string{"TagKey": k, "TagValue": v})
	return nil
}

func (t tagFlags) json() *string {
	if len(t) == 0 {
		return nil
	}
	raw, _ := json.Marshal([]map[string]string(t))
	return tea.String(string(raw))
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return tea.String(s)
}

func secretCreate() *command {
	return &command{name: "create", args: "NAME [VALUE]", summary: "create a secret with its first version",
		help: "Creates the secret NAME; its first version takes ACSCurrent.\n\n" + valueHelp,
		setup: func(fs *flag.FlagSet) runner {
			var v valueFlags
			v.declare(fs)
			var tags tagFlags
			version := fs.String("version-id", "v1", "`ID` of the first version")
			desc := fs.String("description", "", "description of the secret")
			instance := fs.String("instance", "", "KMS instance `ID` (kst-...); without it the secret lives in the shared pool")
			key := fs.String("key", "", "encryption key `ID` (key-...), of the same instance")
			typ := fs.String("type", "", "`TYPE`: Generic (default), Rds, Redis, PolarDB, RAMCredentials or ECS")
			ext := fs.String("extended-config", "", "ExtendedConfig `JSON` of a managed (non-Generic) secret")
			interval := fs.String("rotation-interval", "", "enable automatic rotation every `INTERVAL` (e.g. 30d; managed types only)")
			fs.Var(&tags, "tag", "tag `KEY=VALUE` (repeatable)")
			return func(ctx context.Context, c *cli, args []string) error {
				if len(args) < 1 || len(args) > 2 {
					return usagef("want NAME [VALUE]")
				}
				data, dataType, err := v.read(c, args[1:])
				if err != nil {
					return err
				}
				req := &kms.CreateSecretRequest{
					SecretName: tea.String(args[0]), VersionId: tea.String(*version), SecretData: tea.String(data),
					SecretDataType: tea.String(dataType), Description: optional(*desc), DKMSInstanceId: optional(*instance),
					EncryptionKeyId: optional(*key), SecretType: optional(*typ), Tags: tags.json(),
				}
				if *ext != "" {
					if err := json.Unmarshal([]byte(*ext), &req.ExtendedConfig); err != nil {
						return usagef("--extended-config is not a JSON object: %v", err)
					}
				}
				if *interval != "" {
					req.EnableAutomaticRotation, req.RotationInterval = tea.Bool(true), tea.String(*interval)
				}
				body, err := do(c, (*kms.Client).CreateSecretWithOptions, req)
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					fmt.Fprintf(c.stdout, "Created secret %s (version %s).\n", text(body["SecretName"]), text(body["VersionId"]))
				})
			}
		}}
}

func secretGet() *command {
	return &command{name: "get", args: "NAME", summary: "print a secret's value (only the value, for $(...))",
		help: `Prints the value of the version marked ACSCurrent (or --stage, or --version-id) and nothing
else, so it composes in shell: export DB_PASS=$(coffer secret get app/db). A newline is added only
when stdout is a terminal. A binary secret is printed as its raw bytes. --json (or --output json)
prints the whole GetSecretValue response instead.`,
		setup: func(fs *flag.FlagSet) runner {
			stage := fs.String("stage", "", "read the version with this stage `LABEL` (default ACSCurrent)")
			version := fs.String("version-id", "", "read this version `ID`")
			asJSON := fs.Bool("json", false, "print the whole response as JSON")
			return func(ctx context.Context, c *cli, args []string) error {
				cl, err := c.connectFor(args, 1, "NAME")
				if err != nil {
					return err
				}
				resp, err := cl.sdk.GetSecretValueWithOptions(&kms.GetSecretValueRequest{
					SecretName: tea.String(args[0]), VersionStage: optional(*stage), VersionId: optional(*version),
				}, cl.rt)
				if err != nil {
					return protocolErr(err)
				}
				if *asJSON || c.g.output == "json" {
					return c.printJSON(asMap(resp.Body))
				}
				value := []byte(tea.StringValue(resp.Body.SecretData))
				if tea.StringValue(resp.Body.SecretDataType) == "binary" {
					if value, err = base64.StdEncoding.DecodeString(string(value)); err != nil {
						return fmt.Errorf("the binary value is not base64")
					}
				}
				if _, err := c.stdout.Write(value); err != nil {
					return err
				}
				if c.stdoutTTY {
					fmt.Fprintln(c.stdout)
				}
				return nil
			}
		}}
}

// newVersionID names a version by its time, so `coffer secret versions` reads in order, plus a
// random suffix so two puts in one second never collide.
func newVersionID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func secretPut() *command {
	return &command{name: "put", args: "NAME [VALUE]", summary: "store a new version of a secret's value",
		help: "Stores a new version of NAME. By default it takes ACSCurrent and the previous current version\nbecomes ACSPrevious; --stage replaces that with the labels given.\n\n" + valueHelp,
		setup: func(fs *flag.FlagSet) runner {
			var v valueFlags
			v.declare(fs)
			version := fs.String("version-id", "", "`ID` of the new version (default: the time and a random suffix)")
			var stages stringList
			fs.Var(&stages, "stage", "stage `LABEL` of the new version (repeatable; replaces the default ACSCurrent)")
			return func(ctx context.Context, c *cli, args []string) error {
				if len(args) < 1 || len(args) > 2 {
					return usagef("want NAME [VALUE]")
				}
				data, dataType, err := v.read(c, args[1:])
				if err != nil {
					return err
				}
				if *version == "" {
					*version = newVersionID()
				}
				req := &kms.PutSecretValueRequest{SecretName: tea.String(args[0]), VersionId: tea.String(*version), SecretData: tea.String(data), SecretDataType: tea.String(dataType)}
				if len(stages) > 0 {
					raw, _ := json.Marshal([]string(stages))
					req.VersionStages = tea.String(string(raw))
				}
				body, err := do(c, (*kms.Client).PutSecretValueWithOptions, req)
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					fmt.Fprintf(c.stdout, "Stored version %s of %s (stages: %s).\n", text(body["VersionId"]), text(body["SecretName"]), text(body["VersionStages"]))
				})
			}
		}}
}

// stringList collects a repeated flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func secretList() *command {
	return &command{name: "list", summary: "list secrets",
		help: "Lists every secret (all pages), or those matching the filters.",
		setup: func(fs *flag.FlagSet) runner {
			var names, tagKeys stringList
			fs.Var(&names, "name", "only secrets whose name contains `TEXT` (repeatable, ORed)")
			fs.Var(&tagKeys, "tag-key", "only secrets with the tag `KEY` (repeatable, ORed)")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				var filters []map[string]any
				if len(names) > 0 {
					filters = append(filters, map[string]any{"Key": "SecretName", "Values": names})
				}
				if len(tagKeys) > 0 {
					filters = append(filters, map[string]any{"Key": "TagKey", "Values": tagKeys})
				}
				req := &kms.ListSecretsRequest{PageSize: tea.Int32(100), FetchTags: tea.String("true")}
				if filters != nil {
					raw, _ := json.Marshal(filters)
					req.Filters = tea.String(string(raw))
				}
				all, err := listAll(c, (*kms.Client).ListSecretsWithOptions, func(n int32) *kms.ListSecretsRequest {
					req.PageNumber = tea.Int32(n)
					return req
				}, "SecretList", "Secret")
				if err != nil {
					return err
				}
				return c.printItems(all, []string{"NAME", "TYPE", "CREATED", "UPDATED", "PLANNED DELETE", "TAGS"}, "SecretName", "SecretType", "CreateTime", "UpdateTime", "PlannedDeleteTime", "Tags")
			}
		}}
}

func secretVersions() *command {
	return &command{name: "versions", args: "NAME", summary: "list a secret's versions and their stages",
		help: "Lists the versions of NAME that carry a stage label, or all of them with --include-deprecated.",
		setup: func(fs *flag.FlagSet) runner {
			all := fs.Bool("include-deprecated", false, "also list versions without a stage label")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				versions, err := listAll(c, (*kms.Client).ListSecretVersionIdsWithOptions, func(n int32) *kms.ListSecretVersionIdsRequest {
					return &kms.ListSecretVersionIdsRequest{
						SecretName: tea.String(args[0]), IncludeDeprecated: tea.String(strconv.FormatBool(*all)),
						PageNumber: tea.Int32(n), PageSize: tea.Int32(100),
					}
				}, "VersionIds", "VersionId")
				if err != nil {
					return err
				}
				return c.printItems(versions, []string{"VERSION", "STAGES", "CREATED"}, "VersionId", "VersionStages", "CreateTime")
			}
		}}
}

func secretDescribe() *command {
	return &command{name: "describe", args: "NAME", summary: "show a secret's metadata (never its value)",
		help: "Shows the metadata of NAME: type, key, instance, dates, rotation (with where a running or failed\nrotation stands) and tags. The value is not fetched.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				// Through CallApi, because the SDK's struct would drop Coffer's RotationState field.
				body, err := c.call("DescribeSecret", map[string]string{"SecretName": args[0], "FetchTags": "true"})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					if st, ok := body["RotationState"].(map[string]any); ok {
						body["RotationState"] = rotationStateText(st)
					}
					c.printFields(body, "SecretName", "Arn", "SecretType", "Description", "DKMSInstanceId", "EncryptionKeyId",
						"CreateTime", "UpdateTime", "PlannedDeleteTime", "AutomaticRotation", "RotationInterval",
						"LastRotationDate", "NextRotationDate", "ExtendedConfig", "RotationState", "Tags")
				})
			}
		}}
}

// rotationStateText says where a running or failed rotation stands, in one line.
func rotationStateText(st map[string]any) string {
	s := "running: step " + text(st["Step"]) + " of version " + text(st["VersionId"]) + ", attempt " + text(st["Attempt"]) + ", started " + text(st["Started"])
	if st["Failed"] == true {
		s = "FAILED at step " + text(st["Step"]) + " of version " + text(st["VersionId"]) + " after " + text(st["Attempt"]) + " attempt(s)"
	}
	if e := text(st["LastError"]); e != "" {
		s += "; cause: " + e
	}
	if n := text(st["NextAttempt"]); n != "" {
		s += "; next attempt " + n
	}
	return s
}

func secretStage() *command {
	return &command{name: "stage", args: "NAME LABEL", summary: "move, add or remove a stage label",
		help: `Moves the stage LABEL of NAME to the version --to, from the version --from. --to alone adds the
label (moving it from wherever it was); --from alone removes a custom label. ACSCurrent and
ACSPrevious can only be moved, so they need --to.`,
		setup: func(fs *flag.FlagSet) runner {
			to := fs.String("to", "", "version `ID` that gets the label")
			from := fs.String("from", "", "version `ID` that loses the label")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 2, "NAME LABEL"); err != nil {
					return err
				}
				if *to == "" && *from == "" {
					return usagef("give --to, --from or both")
				}
				body, err := do(c, (*kms.Client).UpdateSecretVersionStageWithOptions, &kms.UpdateSecretVersionStageRequest{
					SecretName: tea.String(args[0]), VersionStage: tea.String(args[1]), MoveToVersion: optional(*to), RemoveFromVersion: optional(*from),
				})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					switch {
					case *to != "":
						fmt.Fprintf(c.stdout, "%s of %s now marks version %s.\n", args[1], args[0], *to)
					default:
						fmt.Fprintf(c.stdout, "Removed %s from version %s of %s.\n", args[1], *from, args[0])
					}
				})
			}
		}}
}

func secretDelete() *command {
	return &command{name: "delete", args: "NAME", summary: "plan a secret's deletion (or delete it now with --force)",
		help: `Plans the deletion of NAME after a recovery window of 7 to 30 days (default 30); until then
'coffer secret restore NAME' brings it back. --force deletes it at once, with no recovery.`,
		setup: func(fs *flag.FlagSet) runner {
			days := fs.Int("recovery-days", 0, "recovery window in `DAYS`, 7 to 30 (default 30)")
			force := fs.Bool("force", false, "delete at once, without a recovery window")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				if *force && *days != 0 {
					return usagef("--force and --recovery-days exclude each other")
				}
				req := &kms.DeleteSecretRequest{SecretName: tea.String(args[0]), ForceDeleteWithoutRecovery: tea.String(strconv.FormatBool(*force))}
				if *days != 0 {
					req.RecoveryWindowInDays = tea.String(strconv.Itoa(*days))
				}
				body, err := do(c, (*kms.Client).DeleteSecretWithOptions, req)
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					if *force {
						fmt.Fprintf(c.stdout, "Deleted secret %s.\n", args[0])
						return
					}
					fmt.Fprintf(c.stdout, "Secret %s will be deleted at %s; 'coffer secret restore %s' brings it back until then.\n", args[0], text(body["PlannedDeleteTime"]), args[0])
				})
			}
		}}
}

func secretRestore() *command {
	return &command{name: "restore", args: "NAME", summary: "cancel a planned deletion",
		help: "Brings back NAME, planned for deletion, with all its versions.",
		setup: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				body, err := do(c, (*kms.Client).RestoreSecretWithOptions, &kms.RestoreSecretRequest{SecretName: tea.String(args[0])})
				if err != nil {
					return err
				}
				return c.emit(body, func() { fmt.Fprintf(c.stdout, "Restored secret %s.\n", args[0]) })
			}
		}}
}

func secretRotate() *command {
	return &command{name: "rotate", args: "NAME", summary: "rotate a managed secret now (RotateSecret)",
		help: `Rotates the managed (Rds) secret NAME now: a new password is set on the database and becomes
ACSCurrent, the old value ACSPrevious. --version-id names the new version and makes a retry safe:
a version that exists answers success without rotating again. While a rotation runs the server
answers Rejected.Rotating; 'coffer secret describe NAME' shows where it stands. A deployment's
endpoint records the rotation and runs it in its rotateSecret function; the answer then says it is
recorded.`,
		setup: func(fs *flag.FlagSet) runner {
			version := fs.String("version-id", "", "`ID` of the new version, an idempotency key (default: the time and a random suffix)")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				if *version == "" {
					*version = newVersionID()
				}
				body, err := do(c, (*kms.Client).RotateSecretWithOptions, &kms.RotateSecretRequest{SecretName: tea.String(args[0]), VersionId: tea.String(*version)})
				if err != nil {
					return err
				}
				// A deployment's root path records the rotation and hands it to rotateSecret: say so.
				desc, err := c.call("DescribeSecret", map[string]string{"SecretName": args[0]})
				st, _ := desc["RotationState"].(map[string]any)
				return c.emit(body, func() {
					if err == nil && st != nil {
						fmt.Fprintf(c.stdout, "Rotation of %s to version %s is recorded (step %s); 'coffer secret describe %s' shows where it stands.\n",
							args[0], text(body["VersionId"]), text(st["Step"]), args[0])
						return
					}
					fmt.Fprintf(c.stdout, "Rotated %s: version %s is ACSCurrent.\n", args[0], text(body["VersionId"]))
				})
			}
		}}
}

func secretRotationPolicy() *command {
	return &command{name: "rotation-policy", args: "NAME", summary: "turn automatic rotation on or off (UpdateSecretRotationPolicy)",
		help: `With --interval, NAME is rotated automatically every INTERVAL (6h to 8760h, written 30d, 12h,
90m or 3600s), counted from its last rotation; --disable turns automatic rotation off.`,
		setup: func(fs *flag.FlagSet) runner {
			interval := fs.String("interval", "", "rotate every `INTERVAL`, e.g. 30d")
			disable := fs.Bool("disable", false, "turn automatic rotation off")
			return func(ctx context.Context, c *cli, args []string) error {
				if (*interval == "") == !*disable {
					return usagef("give --interval INTERVAL or --disable")
				}
				if err := wantArgs(args, 1, "NAME"); err != nil {
					return err
				}
				body, err := do(c, (*kms.Client).UpdateSecretRotationPolicyWithOptions, &kms.UpdateSecretRotationPolicyRequest{
					SecretName: tea.String(args[0]), EnableAutomaticRotation: tea.Bool(!*disable), RotationInterval: optional(*interval),
				})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					if *disable {
						fmt.Fprintf(c.stdout, "Automatic rotation of %s is off.\n", args[0])
						return
					}
					fmt.Fprintf(c.stdout, "%s rotates every %s.\n", args[0], *interval)
				})
			}
		}}
}
