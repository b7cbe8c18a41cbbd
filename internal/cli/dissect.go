package cli

import "github.com/spf13/cobra"

func newDissectCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "dissect", Hidden: true}
}
