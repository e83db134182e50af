// Package flows is the first stage of syndiag's pipeline: it reads capture
// files and turns their packets into TCP handshake attempts.
//
// A capture is read in one streaming pass. [NewReader] detects the format from
// the magic bytes (pcap in either byte order and timestamp resolution, pcapng
// with any number of sections and interfaces, either of them wrapped in gzip or
// zstd) and hands out records without copying them. [Decoder] finds the IP and
// TCP headers of a record at fixed offsets without allocating, and the
// [Tracker] keeps state only for handshakes that are open, plus a small record
// per connection until it closes, so memory is bounded by open handshakes, not
// by packets. [ReadCapture] does all three and returns a [Capture] with what
// the file held.
//
// Bad packets are data, not errors. A frame flows cannot use (ARP, UDP, a
// header cut by the snap length, a malformed IP or TCP header, …) is counted
// in [Capture.Undecoded] under a [Reason], and the reading goes on; every
// frame is either decoded or counted there once. Only a problem of the file
// itself stops the reading, with a [*FormatError], and what was read before
// it still counts.
//
// flows knows packets and captures. It does not judge why a handshake failed;
// that is the job of package analyze. The text files taken on the server
// beside a capture (netstat, nstat, sysctl, ss, drop traces) are read by
// its sub-package evidence.
package flows
