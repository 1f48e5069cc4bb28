package applier

import (
	"github.com/hasidecar/hasidecar/plugins"
	"github.com/hasidecar/hasidecar/plugins/fsio"
)

// Checkpointed is what a state directory's checkpoint records: the first
// offset held, the durable end (every byte below it was synced before the
// checkpoint was written) and the layout.
type Checkpointed struct {
	Base, End int64
	Info      plugins.Info
}

// ReadCheckpoint reads the checkpoint in stateDir without opening the
// applier (no lock is taken: the slots are written so that a reader never
// sees a torn one as valid). found is false when there is none. Online
// verify uses it to learn a running slave's durable end.
func ReadCheckpoint(stateDir string) (c Checkpointed, found bool, err error) {
	st, found, err := readCheckpoint(fsio.OS(), stateDir)
	if err != nil || !found {
		return Checkpointed{}, found, err
	}
	return Checkpointed{Base: st.Base, End: st.End, Info: st.Info}, true, nil
}
