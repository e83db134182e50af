// Package wording is the one home of how syndiag writes numbers, counts,
// percentages, clock times and durations into sentences: package analyze
// uses it for the evidence of its findings, package report for its tables
// and notes, so that a figure reads the same wherever it is printed.
//
// It is a leaf: it imports nothing of syndiag's and knows nothing of TCP.
package wording
