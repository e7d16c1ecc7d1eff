// Package layering holds no code. Its test checks the direction of imports
// that the README's Layout section promises: cmd -> planner -> {state,
// providers}, with internal/addrs below them all.
package layering
