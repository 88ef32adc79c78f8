package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/engine/skills"
)

func skillsCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "skills", Short: "Work with skill folders (SKILL.md runbooks)"}
	c.AddCommand(&cobra.Command{
		Use:   "lint DIR",
		Short: "Validate every SKILL.md under DIR and report each problem as file:line: field: message",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			problems := skills.LintDir(args[0])
			for _, p := range problems {
				fmt.Fprintln(e.stdout, p.String())
			}
			if len(problems) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d problems in %s", len(problems), args[0])}
			}
			set, err := skills.LoadDir(args[0])
			if err != nil {
				return err
			}
			checks := 0
			for _, s := range set {
				checks += len(s.Checks)
			}
			fmt.Fprintf(e.stdout, "%s: %d skills, %d checks, no problems\n", args[0], len(set), checks)
			return nil
		},
	})
	return c
}
