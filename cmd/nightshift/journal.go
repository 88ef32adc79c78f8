package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nightshift-ops/nightshift/engine/journal"
	"github.com/nightshift-ops/nightshift/store"
)

func journalCmd(e env) *cobra.Command {
	var configPath, space, inv string
	c := &cobra.Command{Use: "journal", Short: "Verify or export an investigation's hash-chained journal"}
	c.PersistentFlags().StringVar(&configPath, "config", "nightshift.yaml", "configuration file")
	c.PersistentFlags().StringVar(&space, "space", "", "space name")
	c.PersistentFlags().StringVar(&inv, "investigation", "", "investigation id")
	open := func() (*store.Store, error) {
		if space == "" || inv == "" {
			return nil, errors.New("--space and --investigation are required")
		}
		cfg, err := LoadConfig(configPath, e.getenv)
		if err != nil {
			return nil, err
		}
		if cfg.Redis.URL == "" {
			return nil, errors.New("redis.url is empty: the embedded store lives inside a running serve process; point redis.url at the server's Redis")
		}
		return store.Open(cfg.Redis, nil)
	}
	read := func(ctx context.Context) ([]journal.Entry, error) {
		st, err := open()
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return st.Journal(ctx, space, inv)
	}
	c.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain; exit 0 when intact, 2 naming the first bad entry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := read(cmd.Context())
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				return fmt.Errorf("investigation %s in space %s has no journal", inv, space)
			}
			if err := journal.Verify(entries); err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(e.stdout, "journal of %s intact: %d entries, head %s\n", inv, len(entries), entries[len(entries)-1].Hash)
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "export",
		Short: "Write the journal as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := read(cmd.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetEscapeHTML(false)
			for _, en := range entries {
				if err := enc.Encode(en); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return c
}
