package actionstoken

import (
	"bytes"
	"errors"
	"os"
	"strconv"
)

// parentEnv reads the parent process's environment as it was when the parent started
// (/proc/PPID/environ). A name given twice keeps its last value, as os/exec passes on.
func parentEnv() (map[string]string, string, error) {
	ppid := os.Getppid()
	where := "/proc/" + strconv.Itoa(ppid) + "/environ"
	data, err := os.ReadFile(where)
	if err != nil {
		return nil, where, err
	}
	if os.Getppid() != ppid {
		return nil, where, errors.New("kubectl exited while it was read")
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := bytes.Cut(kv, []byte{'='}); ok && len(k) > 0 {
			env[string(k)] = string(v)
		}
	}
	return env, where, nil
}
