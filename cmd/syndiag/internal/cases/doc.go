// Package cases finds the cases syndiag triage analyzes: it walks the
// paths it is given, tells captures from other files by their content,
// groups them into cases (a folder that holds exactly two captures is one
// case, joined when their names give their sides; any other capture is a
// case of its own), keeps the files beside a case's captures to try as its
// host evidence, and splits the cases into shards (--shard i/n) by name.
// It opens files only to sniff them and never reads a capture through.
package cases
