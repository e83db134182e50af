//go:build !unix

package cases

// openNonblock is 0 where O_NONBLOCK does not exist.
const openNonblock = 0
