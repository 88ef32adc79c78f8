package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func teamsCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "teams", Short: "Microsoft Teams helpers"}
	var dir, appID, domain, out string
	pkg := &cobra.Command{
		Use:   "package --app-id ID --domain HOST [-o FILE]",
		Short: "Build the Teams app package (manifest.json and icons, zipped) to upload to Teams",
		Long: `Fills the app manifest under deploy/teams with the Azure Bot's app id and the
host of the messaging endpoint (https://HOST/api/messages), checks the icons,
and writes the zip that Teams admin centre or "Upload a custom app" takes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			zipped, err := teamsPackage(dir, appID, domain)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, zipped, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: Teams app package for bot %s (endpoint https://%s/api/messages)\n", out, appID, domain)
			return nil
		},
	}
	pkg.Flags().StringVar(&dir, "dir", "deploy/teams", "folder with manifest.json, color.png and outline.png")
	pkg.Flags().StringVar(&appID, "app-id", "", "the Azure Bot's Microsoft app id (a GUID)")
	pkg.Flags().StringVar(&domain, "domain", "", "host of the messaging endpoint, e.g. nightshift.example.com")
	pkg.Flags().StringVarP(&out, "output", "o", "nightshift-teams.zip", "zip file to write")
	_ = pkg.MarkFlagRequired("app-id")
	_ = pkg.MarkFlagRequired("domain")
	c.AddCommand(pkg)
	return c
}

// teamsPackage builds the app package zip.
func teamsPackage(dir, appID, domain string) ([]byte, error) {
	if !guidRe.MatchString(appID) {
		return nil, fmt.Errorf("--app-id: want the bot's Microsoft app id, a GUID (got %q)", appID)
	}
	domain = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(domain, "https://"), "http://"), "/")
	if domain == "" || strings.ContainsAny(domain, "/ ") {
		return nil, fmt.Errorf("--domain: want a host name such as nightshift.example.com (got %q)", domain)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	manifest := strings.NewReplacer("{{APP_ID}}", appID, "{{DOMAIN}}", domain).Replace(string(raw))
	if strings.Contains(manifest, "{{") {
		return nil, fmt.Errorf("manifest.json: a placeholder is left: %s", manifest[strings.Index(manifest, "{{"):][:20])
	}
	var check map[string]any
	if err := json.Unmarshal([]byte(manifest), &check); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) error {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	if err := add("manifest.json", []byte(manifest)); err != nil {
		return nil, err
	}
	for name, size := range map[string]int{"color.png": 192, "outline.png": 32} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if r := img.Bounds(); r.Dx() != size || r.Dy() != size {
			return nil, fmt.Errorf("%s: Teams wants %dx%d pixels, this is %dx%d", name, size, size, r.Dx(), r.Dy())
		}
		if err := add(name, b); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
