// Command coffer is the operator's command-line tool for Coffer. It speaks the KMS OpenAPI through
// Alibaba's official Go SDK, so every command is also a call a real client could make; `coffer
// init` and `coffer doctor --local` reach the store and the root key directly instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// Exit codes scripts can rely on.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
)

// usageError is a mistake in the command line: exit code 2 and the command's usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// runner runs a leaf command once its flags are parsed.
type runner func(ctx context.Context, c *cli, args []string) error

// command is one node of the command tree: a group with subs, or a leaf with setup.
type command struct {
	name    string
	args    string // synopsis of the positional arguments
	summary string
	help    string // what a leaf does, for its --help
	// setup declares the leaf's flags on fs and returns what runs after parsing.
	setup func(fs *flag.FlagSet) runner
	subs  []*command
}

// cli is one invocation: its streams, environment and global options.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	g              globals
	// stdinTTY, stdoutTTY and stderrTTY say whether a person is at the terminal (prompts,
	// trailing newlines and progress bars).
	stdinTTY, stdoutTTY, stderrTTY bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		stdinTTY: isTerminal(os.Stdin), stdoutTTY: isTerminal(os.Stdout), stderrTTY: isTerminal(os.Stderr)}
	code := c.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func commands() *command {
	return &command{name: "coffer", subs: []*command{
		initCommand(), doctorCommand(), secretCommands(), importCommand(), passwordCommand(),
		instanceCommands(), keyCommands(), backupCommands(), accessKeyCommands(),
		networkRuleCommands(), policyCommands(), accessPointCommands(),
	}}
}

// run executes args and returns the exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	root := commands()
	node, path := root, []string{"coffer"}
	// Global flags may come before the command (coffer --output json secret list); they are
	// handed to the leaf with its own flags.
	var globalArgs []string
	for len(args) > 0 && node.setup == nil {
		name := args[0]
		if name == "help" || name == "-h" || name == "--help" || name == "-help" {
			c.groupHelp(c.stdout, node, path)
			return exitOK
		}
		if name == "--version" || name == "-version" {
			fmt.Fprintln(c.stdout, "coffer", version())
			return exitOK
		}
		if strings.HasPrefix(name, "-") {
			n := globalFlagArgs(args)
			if n == 0 {
				return c.usage(path, "%s: not a global flag; give a command's own flags after the command", name)
			}
			globalArgs, args = append(globalArgs, args[:n]...), args[n:]
			continue
		}
		next := node.sub(name)
		if next == nil {
			return c.usage(path, "unknown command %q", strings.Join(append(path[1:], name), " "))
		}
		node, path, args = next, append(path, name), args[1:]
	}
	if node.setup == nil {
		word := "SUBCOMMAND"
		if len(path) == 1 {
			word = "COMMAND"
		}
		return c.usage(path, "give a %s", word)
	}
	fs, run := c.flagSet(node, path)
	positional, err := parseInterspersed(fs, append(globalArgs, args...))
	if errors.Is(err, flag.ErrHelp) {
		c.leafHelp(c.stdout, node, path, fs)
		return exitOK
	}
	if err == nil {
		err = c.g.check()
	}
	if err == nil {
		err = run(ctx, c, positional)
	}
	return c.report(err, path)
}

// usage reports a mistake in the command line in one line, with where the help is.
func (c *cli) usage(path []string, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "coffer: %s\nRun '%s --help' for usage.\n", fmt.Sprintf(format, args...), strings.Join(path, " "))
	return exitUsage
}

// globalFlagArgs is how many of args (which start with a flag) form one global flag and its
// value, or 0 when args[0] is not a global flag.
func globalFlagArgs(args []string) int {
	name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	if !isGlobal(name) {
		return 0
	}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	new(globals).declare(fs)
	if b, ok := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); hasValue || ok && b.IsBoolFlag() || len(args) == 1 {
		return 1
	}
	return 2
}

// version is the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += " (modified)"
			}
		}
	}
	return v + " " + bi.GoVersion
}

// flagSet declares a leaf's own and the global flags.
func (c *cli) flagSet(n *command, path []string) (*flag.FlagSet, runner) {
	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.g.declare(fs)
	return fs, n.setup(fs)
}

// report prints err the way scripts and people need it and returns the exit code.
func (c *cli) report(err error, path []string) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) || isFlagError(err) {
		return c.usage(path, "%v", err)
	}
	if !errors.Is(err, errReported) {
		fmt.Fprintf(c.stderr, "coffer: %v\n", err)
	}
	var pe *protocolError
	if errors.As(err, &pe) && pe.notFound() {
		return exitNotFound
	}
	return exitError
}

// errReported means the command already told the user what went wrong.
var errReported = errors.New("reported")

// flagErr marks errors of the flag package, which are usage mistakes.
type flagErr struct{ error }

func isFlagError(err error) bool {
	var fe flagErr
	return errors.As(err, &fe)
}

// parseInterspersed parses flags wherever they stand among the positional arguments, so
// `coffer secret get app/db --stage ACSPrevious` works as people type it. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, flagErr{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}

func (n *command) sub(name string) *command {
	for _, s := range n.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (c *cli) groupHelp(w io.Writer, n *command, path []string) {
	if len(path) == 1 {
		fmt.Fprint(w, `coffer: the operator's tool for Coffer, speaking the KMS OpenAPI through Alibaba's Go SDK.

Usage: coffer [global flags] COMMAND [SUBCOMMAND] [flags] [arguments]
       coffer --version

Connection (flags, else environment, else the profile file):
  --endpoint URL             COFFER_ENDPOINT (default http://127.0.0.1:8080)
  --access-key-id ID         COFFER_ACCESS_KEY_ID
  --access-key-secret SECRET COFFER_ACCESS_KEY_SECRET (prefer the variable or the profile: flags show in ps)
  --profile FILE             COFFER_PROFILE (default `+defaultProfileHint()+`), JSON with
                             endpoint, access_key_id, access_key_secret, ca_file, ca_fingerprint;
                             mode 0600 or it is refused
  --ca-file FILE, --insecure TLS trust of an https:// endpoint (COFFER_CA_FILE)
  --ca-fingerprint SHA256    trust only the certificate with this fingerprint (COFFER_CA_FINGERPRINT)
  --output table|json        --timeout DURATION (default 30s)

Exit codes: 0 ok, 1 error, 2 usage, 3 not found.

Commands:
`)
	} else {
		fmt.Fprintf(w, "Usage: %s SUBCOMMAND [flags] [arguments]\n\n", strings.Join(path, " "))
	}
	names := make([]string, 0, len(n.subs))
	width := 0
	for _, s := range n.subs {
		names = append(names, s.name)
		width = max(width, len(s.name))
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, name, n.sub(name).summary)
	}
	word := "SUBCOMMAND"
	if len(path) == 1 {
		word = "COMMAND"
	}
	fmt.Fprintf(w, "\nRun '%s %s --help' for its flags.\n", strings.Join(path, " "), word)
}

func (c *cli) leafHelp(w io.Writer, n *command, path []string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags] %s\n\n%s\n", strings.Join(path, " "), n.args, strings.TrimSpace(n.help))
	var own, global strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		b := &own
		if isGlobal(f.Name) {
			b = &global
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(b, "%-30s %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if own.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", own.String())
	}
	fmt.Fprintf(w, "\nGlobal flags:\n%s", global.String())
}

// wantArgs checks the number of positional arguments.
func wantArgs(args []string, n int, names string) error {
	if len(args) != n {
		return usagef("want %s, got %d argument(s)", names, len(args))
	}
	return nil
}
