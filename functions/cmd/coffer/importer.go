package main

import (
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
	"strings"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

func importCommand() *command {
	return &command{name: "import", args: "FILE", summary: "create many secrets from a JSON or .env file, with progress",
		help: `Creates one secret per entry of FILE (- for stdin): a JSON object {"name": "value", ...} (a
value that is not a string is stored as its JSON text) or a .env file, read by the rules of the
dotenv family: NAME=VALUE lines, optional 'export ', # comments, 'single quotes' literal, "double
quotes" with \n \r \t \" \\ escapes, quoted values over several lines, no ${VAR} expansion. An
empty value (NAME=) is skipped and named: a secret cannot be empty. Entries go in name order; a failure is reported
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
				var empty []string
				for n, v := range entries {
					if v == "" {
						empty = append(empty, *prefix+n)
						continue
					}
					names = append(names, n)
				}
				sort.Strings(names)
				if len(empty) > 0 {
					sort.Strings(empty)
					fmt.Fprintf(c.stderr, "coffer: skipped %s: an empty value, and a secret cannot be empty\n", strings.Join(empty, ", "))
				}
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

// parseEnv reads a .env file by the rules the dotenv family shares (motdotla/dotenv,
// joho/godotenv, Docker Compose): NAME=VALUE lines, an optional "export ", # comments on their
// own line or after a value; an unquoted value is trimmed and ends at " #"; 'single quotes' are
// literal; "double quotes" expand \n \r \t \" and \\ (any other backslash stays); both quotes
// may span lines; NAME= is an empty value; values are not expanded (${X} stays as written); a
// later NAME wins. Errors give the line number, never the line.
func parseEnv(raw []byte) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimLeft(lines[i], " \t")
		if trimmed := strings.TrimSpace(line); trimmed == "" || trimmed[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			return nil, fmt.Errorf("line %d: not NAME=VALUE", n)
		}
		value = strings.TrimLeft(value, " \t")
		if value == "" || (value[0] != '"' && value[0] != '\'') {
			if j := strings.Index(value, " #"); j >= 0 {
				value = value[:j]
			}
			out[name] = strings.TrimSpace(value)
			continue
		}
		quote, body := value[0], value[1:]
		end := closingQuote(body, quote)
		for end < 0 && i+1 < len(lines) {
			i++
			body += "\n" + lines[i]
			end = closingQuote(body, quote)
		}
		if end < 0 {
			return nil, fmt.Errorf("line %d: unterminated quoted value", n)
		}
		if rest := strings.TrimSpace(body[end+1:]); rest != "" && rest[0] != '#' {
			return nil, fmt.Errorf("line %d: text after the closing quote", n)
		}
		value = body[:end]
		if quote == '"' {
			value = unescapeDouble(value)
		}
		out[name] = value
	}
	return out, nil
}

// closingQuote is the index in s of the quote that closes a value, or -1; a backslash escapes
// the next character inside double quotes only.
func closingQuote(s string, quote byte) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == quote:
			return i
		case s[i] == '\\' && quote == '"':
			i++
		}
	}
	return -1
}

var doubleQuoteEscapes = strings.NewReplacer(`\n`, "\n", `\r`, "\r", `\t`, "\t", `\"`, `"`, `\\`, `\`)

func unescapeDouble(s string) string { return doubleQuoteEscapes.Replace(s) }
