package macpkg

// Cksum is the POSIX cksum(1) CRC of data: CRC-32 with polynomial
// 0x04C11DB7, most significant bit first, over the data followed by its
// length in as few bytes as needed, least significant byte first, then
// complemented (pubs.opengroup.org/onlinepubs/9699919799/utilities/cksum.html).
// Bom files store this checksum for every file and link target; macOS
// `cksum` and GNU coreutils `cksum` print the same value.
func Cksum(data []byte) uint32 {
	var table [256]uint32
	for i := range table {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		table[i] = c
	}
	var crc uint32
	for _, b := range data {
		crc = crc<<8 ^ table[byte(crc>>24)^b]
	}
	for n := uint64(len(data)); n != 0; n >>= 8 {
		crc = crc<<8 ^ table[byte(crc>>24)^byte(n)]
	}
	return ^crc
}
