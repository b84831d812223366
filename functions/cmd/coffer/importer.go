package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

func importCommand() *command {
	return &command{name: "import", args: "FILE", summary: "create many secrets from a JSON or .env file, with progress",
		help: `Creates one secret per entry of FILE (- for stdin): a JSON object {"name": "value", ...} (a
value that is not a string is stored as its JSON text) or a .env file (NAME=VALUE lines, optional
'export ', # comments, single or double quotes). Entries go in name order; a failure is reported
with its code and the import goes on. With --update an existing secret gets a new version instead
of failing. Exits 1 when any entry failed. Values are never printed.`,
		setup: func(fs *flag.FlagSet) runner {
			format := fs.String("format", "", "`FORMAT` of FILE: json or env (default: json for a .json file, else env)")
			prefix := fs.String("prefix", "", "`PREFIX` put before every name, e.g. app/")
			instance := fs.String("instance", "", "KMS instance `ID` of the new secrets")
			key := fs.String("key", "", "encryption key `ID` of the new secrets")
			update := fs.Bool("update", false, "store a new version when a secret exists, instead of failing")
			bar := fs.String("progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 1, "FILE"); err != nil {
					return err
				}
				if *format == "" {
					*format = "env"
					if strings.EqualFold(filepath.Ext(args[0]), ".json") {
						*format = "json"
					}
				}
				showBar := *bar == "always" || (*bar == "auto" && c.stderrTTY)
				if *bar != "auto" && *bar != "always" && *bar != "never" {
					return usagef("--progress must be auto, always or never")
				}
				raw, err := readInput(c, args[0])
				if err != nil {
					return err
				}
				var entries map[string]string
				switch *format {
				case "json":
					entries, err = parseJSONEntries(raw)
				case "env":
					entries, err = parseEnv(raw)
				default:
					return usagef("--format must be json or env")
				}
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				cl, err := c.connect()
				if err != nil {
					return err
				}
				names := make([]string, 0, len(entries))
				for n := range entries {
					names = append(names, n)
				}
				sort.Strings(names)
				p := newProgress(c.stderr, "importing", len(names), showBar)
				var failed []string
				created, updated := 0, 0
				for _, n := range names {
					if ctx.Err() != nil {
						break
					}
					isUpdate, err := importOne(cl, *prefix+n, entries[n], *instance, *key, *update)
					switch {
					case err != nil:
						failed = append(failed, fmt.Sprintf("  %s: %v", *prefix+n, err))
					case isUpdate:
						updated++
					default:
						created++
					}
					p.step()
				}
				p.finish()
				fmt.Fprintf(c.stdout, "Imported %d of %d secrets (%d created, %d updated, %d failed).\n", created+updated, len(names), created, updated, len(failed))
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted after %d of %d", p.done, len(names))
				}
				if len(failed) > 0 {
					fmt.Fprintf(c.stderr, "coffer: these secrets failed:\n%s\n", strings.Join(failed, "\n"))
					return errReported
				}
				return nil
			}
		}}
}

// importOne creates one secret, or with update stores a new version of an existing one.
func importOne(cl *client, name, value, instance, key string, update bool) (updated bool, err error) {
	_, err = cl.sdk.CreateSecretWithOptions(&kms.CreateSecretRequest{
		SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(value),
		DKMSInstanceId: optional(instance), EncryptionKeyId: optional(key),
	}, cl.rt)
	err = protocolErr(err)
	var pe *protocolError
	if !update || !errors.As(err, &pe) || pe.code != "Rejected.ResourceExist" {
		return false, err
	}
	_, err = cl.sdk.PutSecretValueWithOptions(&kms.PutSecretValueRequest{
		SecretName: tea.String(name), VersionId: tea.String(newVersionID()), SecretData: tea.String(value),
	}, cl.rt)
	return true, protocolErr(err)
}

func readInput(c *cli, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(c.stdin)
	}
	return os.ReadFile(path)
}

// parseJSONEntries reads {"name": value}; errors name the entry, never its value.
func parseJSONEntries(raw []byte) (map[string]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errors.New("not a JSON object of names to values")
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return nil, fmt.Errorf("entry %q: not JSON", k)
		}
		out[k] = compact.String()
	}
	return out, nil
}

// parseEnv reads NAME=VALUE lines as shells and dotenv tools write them. Errors give the line
// number, never the line.
func parseEnv(raw []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			return nil, fmt.Errorf("line %d: not NAME=VALUE", n)
		}
		value = strings.TrimSpace(value)
		switch {
		case len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"':
			v, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad double-quoted value", n)
			}
			value = v
		case len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'':
			value = value[1 : len(value)-1]
		default:
			if i := strings.Index(value, " #"); i >= 0 {
				value = strings.TrimSpace(value[:i])
			}
		}
		out[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
