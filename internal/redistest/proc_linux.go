//go:build linux

package redistest

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill the server if this process dies
// without stopping it (a test binary killed by its timeout, say).
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
