// Command nightshift is Nightshift's one binary: the server (serve), the
// tools around it (config check, journal verify/export, bench) and, in later
// waves, the demo and evaluation. main is the composition root: the only
// package that knows every concrete type.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command may read from its process: kept explicit so that
// tests run commands in-process with their own environment and output.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	root := newRoot(env{getenv: getenv, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "nightshift:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func newRoot(e env) *cobra.Command {
	root := &cobra.Command{
		Use:           "nightshift",
		Short:         "An open-source, self-hosted autonomous on-call engineer for Slack and Teams",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		versionCmd(e),
		serveCmd(e),
		configCmd(e),
		journalCmd(e),
		benchCmd(e),
		evalCmd(e),
		investigateCmd(e),
		demoCmd(e),
		skillsCmd(e),
		askCmd(e),
		teamsCmd(e),
	)
	return root
}

func versionCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(e.stdout, "nightshift", version)
			return nil
		},
	}
}

func configCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Validate a configuration file and report every problem with its line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := LoadConfig(args[0], e.getenv)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(e.stdout, "%s: ok (%d spaces)\n", args[0], len(cfg.Spaces))
			return nil
		},
	})
	return c
}
