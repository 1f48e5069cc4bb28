package onlineverify

import "errors"

// ErrBadMaster is a master answer that contradicts the exchange or this
// slave's layout (a peer's bytes: refused, never trusted).
var ErrBadMaster = errors.New("onlineverify: bad answer from the master")
