// Package bytesize parses and formats the byte sizes of flags and
// configuration files: "1GiB", "64MiB", "32k" or plain bytes. Binary units
// (KiB, MiB, GiB, TiB and the short K, M, G) are powers of 1024; KB, MB and
// GB are powers of 1000. A size that does not parse is ErrSyntax.
package bytesize
