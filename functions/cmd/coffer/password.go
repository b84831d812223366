package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

func passwordCommand() *command {
	return &command{name: "password", summary: "print a random password (GetRandomPassword)",
		help: `Prints a random password made by the server, for a value to store:
coffer password | coffer secret put NAME. A newline follows it only when stdout is a terminal, so
a pipe carries exactly the password.`,
		setup: func(fs *flag.FlagSet) runner {
			length := fs.Int("length", 32, "password `LENGTH`, 8 to 128")
			exclude := fs.String("exclude", "", "`CHARACTERS` never to use")
			noPunct := fs.Bool("no-punctuation", false, "no punctuation characters")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				body, err := do(c, (*kms.Client).GetRandomPasswordWithOptions, &kms.GetRandomPasswordRequest{
					PasswordLength: tea.String(strconv.Itoa(*length)), ExcludeCharacters: optional(*exclude),
					ExcludePunctuation: tea.String(strconv.FormatBool(*noPunct)),
				})
				if err != nil {
					return err
				}
				return c.emit(body, func() {
					// No newline into a pipe, so coffer password | coffer secret create NAME stores
					// exactly the password.
					fmt.Fprint(c.stdout, text(body["RandomPassword"]))
					if c.stdoutTTY {
						fmt.Fprintln(c.stdout)
					}
				})
			}
		}}
}
